// Package data feeds models: datasets, mini-batch loaders, train/validation
// splits, preprocessing fitted on training data, image augmentation, and
// readers for the IDX (MNIST) and CSV formats. It imports only the tensor
// package and can be used on its own.
//
// A Dataset is a length and an example by index. TensorDataset holds
// features [N, ...] and targets [N] (class ids) or [N, k] in memory; a
// Loader cuts a dataset into shuffled mini-batches, copying rows into
// buffers it reuses, optionally assembling the next batches on a
// background goroutine:
//
//	train, test, err := data.MNIST(dir) // x [N, 1, 28, 28] in [0, 1], y [N]
//	if err != nil {
//		log.Fatal(err)
//	}
//	fit, val, _ := data.Split(train, 0.2, 42) // 48,000 / 12,000
//	loader := data.NewLoader(fit, 64, data.Shuffle(1), data.Prefetch(2),
//		data.WithTransform(&data.Augment{MaxShift: 2, MaxRotate: 10}, 2))
//	for epoch := range 5 {
//		for b := range loader.All() {
//			// b.X [64, 1, 28, 28], b.Y [64], b.Labels []int; valid until
//			// the next iteration.
//		}
//	}
//	_ = val
//	_ = test
//
// A Loader with Prefetch stops its background goroutine before the loop
// statement returns, whether the loop ends, breaks or panics.
//
// MNIST checks each file's header (element type, rank, the standard
// dimensions) before reading its data, and the SHA-256 of the decompressed
// contents whatever the file is called (train-images-idx3-ubyte, .gz, or
// train-images.idx3-ubyte). ReadIDX and ReadIDXFile cap the tensor they
// return at MaxIDXBytes (1 GiB of float32) by default, checked from the
// header; LimitIDXBytes sets another cap:
//
//	x, typ, err := data.ReadIDXFile(path, data.LimitIDXBytes(4<<30))
//
// ReadCSV reads a table of numbers, with a header line by default, or
// without one and with leading rows to skip, such as scikit-learn's own
// CSV files:
//
//	tb, err := data.ReadCSVFile("wine_data.csv", data.CSVOptions{
//		SkipRows: 1, NoHeader: true, LabelColumn: -1, // class in the last column
//	})
//	ds, err := tb.Dataset() // X [178, 13], y [178]
//
// Preprocessing that learns from data (Standardizer, MinMaxScaler,
// Imputer) is fitted on training data only and then applied to every
// split; its parameters are saved with State or JSON. Readers never panic
// on malformed input and never allocate without bound: they return a
// *FormatError naming the file and the offset or line and column, and
// quote at most a short prefix of an offending cell or name.
package data
