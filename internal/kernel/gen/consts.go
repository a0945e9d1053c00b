package main

import "math"

// qnan is the bit pattern of the quiet NaN the max kernel returns when its
// input holds a NaN (math.Float32bits(float32(math.NaN()))).
const qnan = 0x7fc00000

// expConsts are the constants of the vector exp. They must match the
// constants of the portable twin, expPortable in ../vec_portable.go.
var expConsts = []struct {
	name string
	bits uint32
}{
	{"expHi", math.Float32bits(89)},
	{"expLo", math.Float32bits(-104)},
	{"expLog2e", math.Float32bits(1.44269504088896341)},
	{"expLn2Hi", math.Float32bits(0.693359375)},
	{"expLn2Lo", math.Float32bits(-2.12194440e-4)},
	{"expC7", math.Float32bits(1.0 / 5040)},
	{"expC6", math.Float32bits(1.0 / 720)},
	{"expC5", math.Float32bits(1.0 / 120)},
	{"expC4", math.Float32bits(1.0 / 24)},
	{"expC3", math.Float32bits(1.0 / 6)},
	{"expC2", math.Float32bits(0.5)},
	{"expOne", math.Float32bits(1)},
	{"expBias", 127},
}
