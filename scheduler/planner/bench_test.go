package planner_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	. "huangong/scheduler/planner"
)

// BenchmarkPlanVillage300 plans a 300-household village's spring (about
// 1,050 requests, 3 teams, 25 days) with the default options. Goal ≤ 100 ms.
func BenchmarkPlanVillage300(b *testing.B) {
	for _, tc := range []struct {
		name string
		load float64
	}{{"normal", normal}, {"tight", tight}} {
		b.Run(tc.name, func(b *testing.B) {
			in := MustVillage(b, 300, 1, tc.load)
			for b.Loop() {
				if _, err := Solve(context.Background(), in, Options{Seed: 1}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPlanLargeVillage plans one large village's spring in one
// Solve: 5,000 households (about 17,000 requests, 50 teams), goal ≤ 1 s;
// 20,000 households, goal ≤ 5 s.
func BenchmarkPlanLargeVillage(b *testing.B) {
	for _, n := range []int{5000, 20000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			in := MustVillage(b, n, 7, normal)
			b.ResetTimer()
			for b.Loop() {
				if _, err := Solve(context.Background(), in, Options{Seed: 1}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPlanTownship plans a township of 5,000 households in 17
// villages, the villages in parallel goroutines. Goal ≤ 2 s.
func BenchmarkPlanTownship(b *testing.B) {
	const households, villages = 5000, 17
	ins := make([]Instance, villages)
	for i := range ins {
		n := households*(i+1)/villages - households*i/villages
		ins[i] = MustVillage(b, n, uint64(100+i), normal)
	}
	for b.Loop() {
		var wg sync.WaitGroup
		errs := make([]error, villages)
		for i := range ins {
			wg.Go(func() { _, errs[i] = Solve(context.Background(), ins[i], Options{Seed: 1}) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReplanAfterRain re-plans a 300-household village after one
// more rain day, starting from its plan. Goal ≤ 50 ms.
func BenchmarkReplanAfterRain(b *testing.B) {
	in := MustVillage(b, 300, 1, normal)
	before, err := Solve(context.Background(), in, Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	in.Blocked = append(in.Blocked, Blocked{Date: "2026-04-16"})
	in.Previous = PreviousOf(before)
	for b.Loop() {
		if _, err := Solve(context.Background(), in, Options{Seed: 1, Iterations: ReplanIterations}); err != nil {
			b.Fatal(err)
		}
	}
}
