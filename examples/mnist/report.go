package main

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/examples/internal/plot"
	"github.com/shoshin-ml/shoshin/train"
)

// writePlots saves the loss and accuracy curves, train and validation.
func writePlots(hist *train.History) ([]string, error) {
	if len(hist.Epochs) == 0 {
		fmt.Println("No complete epoch: no training curves to draw.")
		return nil, nil
	}
	paths, err := plot.History(*plots, "mnist", hist, "loss", "accuracy")
	if err != nil {
		return nil, err
	}
	fmt.Println("Training curves:", paths)
	return paths, nil
}
