package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"huangong/scheduler/planner"
)

// planCmd runs the pure planner on an instance file, without a server or a
// database, so a cadre or a benchmark can try what-ifs.
func planCmd(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "schema" {
		_, err := stdout.Write(planner.InstanceSchema)
		return err
	}
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	in := fs.String("in", "-", "instance JSON file (see `huangong plan schema`); - for standard input")
	out := fs.String("out", "-", "where to write the plan JSON; - for standard output")
	iterations := fs.Int("iterations", 0, "improvement rounds (0: the default; -1: greedy only)")
	seed := fs.Uint64("seed", 1, "search seed; the same seed and instance give the same plan")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r := stdin
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	inst, err := planner.DecodeInstance(r)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	plan, err := planner.Solve(context.Background(), inst, planner.Options{Iterations: *iterations, Seed: *seed})
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(plan)
}
