package web

import (
	"strconv"

	"huangong/store"
)

// chartView is the balances as an SVG bar chart: one bar per household,
// lowest first, with zero and the village's soft limit marked. It is drawn
// on the server, so it needs no script and prints as it shows.
type chartView struct {
	W, H          int
	Bars          []barView
	ZeroY, LimitY float64
	Limit         string // workdays
	Top, Bottom   string // the axis' ends, workdays
	Left, Right   int    // the plot's edges
	Below         []*store.Balance
	Households    int
}

type barView struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

// balanceChart draws rows (sorted by balance) against the soft limit.
func balanceChart(rows []*store.Balance, softLimit int64) chartView {
	const w, h, left, right, top, bottom = 960, 240, 56, 8, 12, 12
	ch := chartView{W: w, H: h, Left: left, Right: w - right, Households: len(rows), Limit: workdays(softLimit)}
	hi, lo := int64(2), min(softLimit, -2) // half days; the axis always shows the limit
	for _, r := range rows {
		hi, lo = max(hi, r.Balance), min(lo, r.Balance)
		if r.BelowLimit {
			ch.Below = append(ch.Below, r)
		}
	}
	hi, lo = hi+hi/10+1, lo+lo/10-1
	plot := float64(h - top - bottom)
	y := func(v int64) float64 { return round1(top + float64(hi-v)/float64(hi-lo)*plot) }
	ch.ZeroY, ch.LimitY = y(0), y(softLimit)
	ch.Top, ch.Bottom = workdays(hi), workdays(lo)
	if len(rows) == 0 {
		return ch
	}
	step := float64(w-left-right) / float64(len(rows))
	gap := 0.0
	if step > 4 {
		gap = step * 0.2
	}
	for i, r := range rows {
		b := barView{X: round1(left + float64(i)*step + gap/2), W: round1(step - gap),
			Title: r.HeadName + " " + workdays(r.Balance)}
		y0, y1 := ch.ZeroY, y(r.Balance)
		b.Y, b.H = min(y0, y1), max(round1(abs(y1-y0)), 0.5)
		switch {
		case r.BelowLimit:
			b.Class = "below"
		case r.Balance > 0:
			b.Class = "plus"
		case r.Balance < 0:
			b.Class = "minus"
		default:
			b.Class = "zero"
		}
		ch.Bars = append(ch.Bars, b)
	}
	return ch
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func round1(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 1, 64), 64)
	return v
}
