package planner

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
)

// DefaultIterations is how many destroy-and-repair rounds Solve runs when
// Options.Iterations is zero: enough for a 300-household village to come
// within a few hundredths of the bound in well under 100 ms.
const DefaultIterations = 2000

// ReplanIterations is the default search of a re-plan (an instance with
// Previous jobs): the search only works around what changed.
const ReplanIterations = 300

// Options tune Solve. The zero value is the default.
type Options struct {
	// Iterations of the improvement search after construction: 0 means
	// DefaultIterations (ReplanIterations for a re-plan), a negative
	// number none (the greedy plan). The budget is counted, not timed, so
	// a plan never depends on the machine it runs on.
	Iterations int
	// Seed of the search's random choices. Same input, same options:
	// the same plan.
	Seed uint64
}

// pcgStream is the second half of the search's PCG state, so that the
// search depends on Options.Seed alone.
const pcgStream = 0x706c616e6e6572 // "planner"

// Solve plans in. It keeps every previous job that still fits (see
// Instance.Previous), then builds the rest greedily (highest priority
// first, then earliest deadline, each request on the first days its
// window allows, a day's work to one team within the field's crew cap),
// improves it by large-neighbourhood search (take some requests out, put
// them back in another order or from the other end of their windows,
// keep the change unless the plan gets worse) and finally picks each
// job's workers so that those who owe help give it. A re-plan searches
// only around the requests that changed — new, or with a previous job
// that no longer fits — and keeps a change only when it does strictly
// better, so an unchanged instance gives back its previous plan. The plan
// returned is never worse than the greedy one. Bad input is an
// *InputError; when ctx ends first, Solve returns ctx.Err().
func Solve(ctx context.Context, in Instance, opts Options) (Plan, error) {
	p, err := compile(&in)
	if err != nil {
		return Plan{}, err
	}
	if err := ctx.Err(); err != nil {
		return Plan{}, err
	}
	s := newState(p)
	replan := len(p.prev) > 0 || slices.ContainsFunc(p.reqs, func(r preq) bool { return r.settled })
	if err := s.construct(ctx); err != nil {
		return Plan{}, err
	}
	iters := opts.Iterations
	if iters == 0 {
		iters = DefaultIterations
		if replan {
			iters = ReplanIterations
		}
	}
	var search *state
	if iters > 0 {
		search = s.clone()
		rng := rand.New(rand.NewPCG(opts.Seed, pcgStream))
		if err := search.improve(ctx, iters, rng, replan); err != nil {
			return Plan{}, err
		}
	}
	best, err := s.finish(ctx)
	if err != nil {
		return Plan{}, err
	}
	if search != nil {
		improved, err := search.finish(ctx)
		if err != nil {
			return Plan{}, err
		}
		if improved.Score.Compare(best.Score) > 0 {
			best = improved
		}
	}
	best.Bound = p.bounds(best.Score.FinishedWeighted)
	return best, nil
}

// rank orders requests for construction: priority, then deadline, then
// the window's start, then input order.
func (p *problem) rank(a, b int) int {
	ra, rb := &p.reqs[a], &p.reqs[b]
	return cmp.Or(cmp.Compare(rb.pri, ra.pri), cmp.Compare(ra.l, rb.l), cmp.Compare(ra.e, rb.e), cmp.Compare(a, b))
}

type readyHeap struct {
	p  *problem
	xs []int
}

func (h *readyHeap) Len() int           { return len(h.xs) }
func (h *readyHeap) Less(i, j int) bool { return h.p.rank(h.xs[i], h.xs[j]) < 0 }
func (h *readyHeap) Swap(i, j int)      { h.xs[i], h.xs[j] = h.xs[j], h.xs[i] }
func (h *readyHeap) Push(x any)         { h.xs = append(h.xs, x.(int)) }
func (h *readyHeap) Pop() any {
	x := h.xs[len(h.xs)-1]
	h.xs = h.xs[:len(h.xs)-1]
	return x
}

// ctxEvery is how many steps of a loop run between looks at the context.
const ctxEvery = 256

// construct keeps what it can of the previous jobs, then places the other
// requests one by one in rank order, a request only after its
// predecessors.
func (s *state) construct(ctx context.Context) error {
	p := s.p
	if len(p.prev) > 0 {
		s.loadPrevious()
	}
	indeg := make([]int, len(p.reqs))
	h := &readyHeap{p: p}
	for i := range p.reqs {
		indeg[i] = len(p.reqs[i].preds)
		if indeg[i] == 0 {
			h.xs = append(h.xs, i)
		}
	}
	heap.Init(h)
	for n := 0; h.Len() > 0; n++ {
		if n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r := heap.Pop(h).(int)
		if !s.done[r] {
			s.insert(r, forward)
		}
		for _, su := range p.reqs[r].succs {
			if indeg[su]--; indeg[su] == 0 {
				heap.Push(h, su)
			}
		}
	}
	if len(p.prev) > 0 {
		s.dropOrphans()
	}
	return nil
}

// loadPrevious keeps the previous jobs in two passes. First every job
// that can stay does, request by request in precedence order: its day
// still open to the request (after its predecessors' kept jobs, not
// blocked, inside the plan), its workers free, no other job of the
// request that day, no more work than the request still needs. Only then
// does the work the kept jobs leave go in, again in precedence order,
// around every kept job: so the remainder of a rained-out request takes
// free workers only, never those of another request's kept job. When a
// remainder fits only by moving successors, their kept jobs give way
// (precedence); when it fits nowhere, the request's jobs are all planned
// again. Each job not kept gets its reason in prevReason.
func (s *state) loadPrevious() {
	p := s.p
	for _, r := range p.topo {
		if len(p.reqs[r].prevs) > 0 && !s.done[r] {
			s.keepPrevious(r)
		}
	}
	for _, r := range p.topo {
		if s.done[r] || len(p.reqs[r].prevs) == 0 {
			continue
		}
		if _, _, _, _, ok := s.bounds(r); !ok {
			s.unkeep(r, ReasonPrecedence)
			continue
		}
		if s.insert(r, forward) {
			continue
		}
		for _, su := range s.successors(r) {
			if len(s.jobs[su]) > 0 {
				s.unkeep(su, ReasonPrecedence)
			}
		}
		if !s.insert(r, forward) {
			s.unkeep(r, ReasonRequest)
		}
	}
}

// dropOrphans takes out, in precedence order, every request placed
// whose predecessor is not: a saved job kept before its predecessor
// turned out to fit nowhere.
func (s *state) dropOrphans() {
	p := s.p
	for _, r := range p.topo {
		if !s.done[r] || len(s.jobs[r]) == 0 {
			continue
		}
		for _, pr := range p.reqs[r].preds {
			if !s.done[pr] {
				s.unkeep(r, ReasonPrecedence)
				break
			}
		}
	}
}

// keepPrevious keeps what it can of request r's previous jobs, as
// loadPrevious says, and marks r done when they are all its work.
func (s *state) keepPrevious(r int) {
	p := s.p
	q := &p.reqs[r]
	lo := max(q.e, 0)
	for _, pr := range q.preds {
		if s.first[pr] <= s.last[pr] {
			lo = max(lo, s.last[pr]+1)
		}
	}
	need := q.need()
	for _, pi := range q.prevs {
		pp := &p.prev[pi]
		if s.prevReason[pi] != "" {
			continue
		}
		why := ""
		switch {
		case pp.day < lo:
			why = ReasonPrecedence
		case pp.day >= p.days:
			why = ReasonDates
		case s.hasDay(r, pp.day):
			why = ReasonOneTeam
		case need <= 0:
			why = ReasonWork
		}
		if why == "" {
			for _, w := range pp.workers {
				if !s.isFree(w.m, pp.day) {
					why = ReasonWorker
					break
				}
			}
		}
		if why != "" {
			s.prevReason[pi] = why
			continue
		}
		ws := trimTo(pp.workers, need)
		for _, w := range ws {
			s.occupy(p.ms[w.m].hh, pp.day, int32(r))
		}
		s.jobs[r] = append(s.jobs[r], job{team: int32(pp.team), day: int32(pp.day), prev: int32(pi), workers: ws})
		s.load[pp.team] += halfOf(ws)
		s.first[r], s.last[r] = min(s.first[r], pp.day), max(s.last[r], pp.day)
		need -= halfOf(ws)
	}
	if need == 0 {
		s.complete(r)
	}
}

// trimTo cuts a saved job's workers down to need half days when it has
// more. The records keep a job's workers as people, so a request of an
// odd number of half days reads back one half day over: the cut comes
// first off workers of whole days (a person who works 1½ days instead of
// 2 is still one person of the job), then off the last workers.
func trimTo(ws []pworker, need int64) []pworker {
	over := halfOf(ws) - need
	if over <= 0 {
		return ws
	}
	ws = slices.Clone(ws)
	for i := len(ws) - 1; i >= 0 && over > 0; i-- {
		if ws[i].half%2 == 0 {
			ws[i].half--
			over--
		}
	}
	for i := len(ws) - 1; i >= 0 && over > 0; i-- {
		cut := min(over, ws[i].half)
		ws[i].half -= cut
		over -= cut
	}
	return slices.DeleteFunc(ws, func(w pworker) bool { return w.half == 0 })
}

// successors returns every request that must come after r, directly or
// through others.
func (s *state) successors(r int) []int {
	var out []int
	seen := map[int]bool{r: true}
	stack := []int{r}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, su := range s.p.reqs[x].succs {
			if !seen[su] {
				seen[su] = true
				out = append(out, su)
				stack = append(stack, su)
			}
		}
	}
	return out
}

// unkeep drops the jobs loadPrevious kept of request r, for it to be
// planned again from nothing, giving its previous jobs without a reason
// why.
func (s *state) unkeep(r int, why string) {
	if s.done[r] {
		s.remove(r)
	}
	s.dropJobs(r)
	for _, pi := range s.p.reqs[r].prevs {
		if s.prevReason[pi] == "" {
			s.prevReason[pi] = why
		}
	}
}

// membership returns the index of household id's membership of team t, or -1.
func (p *problem) membership(t int, id int64) int {
	h, ok := p.hhIdx[id]
	if !ok {
		return -1
	}
	for _, m := range p.hhs[h].ms {
		if p.ms[m].team == t {
			return m
		}
	}
	return -1
}

// improve runs the large-neighbourhood search for iters rounds. A fresh
// plan keeps a change that leaves the ranked terms as they were too, to
// move on. A re-plan (replan) keeps only a change that does strictly
// better, and only tries to make room for the requests that changed: new
// ones not placed, and those whose previous jobs could not all be kept.
// A request the saved plan left unplaced (Request.LeftUnplaced) is not
// one of them, so the nightly re-plan of an unchanged village moves
// nothing.
func (s *state) improve(ctx context.Context, iters int, rng *rand.Rand, replan bool) error {
	p := s.p
	n := len(p.reqs)
	var open []int // requests with work to plan: the only ones to move
	for i := range p.reqs {
		if p.reqs[i].need() > 0 {
			open = append(open, i)
		}
	}
	seeds := open
	if replan {
		seeds = s.changed()
	}
	if len(seeds) == 0 {
		return nil
	}
	stamp := make([]int, n) // stamp[r] == it+1: r is in this round's set
	var set, cand []int
	saved := make([][]job, n)
	modes := make([]int, n)
	for it := range iters {
		if it%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		mark := it + 1
		set = set[:0]
		add := func(r int) {
			if stamp[r] != mark && p.reqs[r].need() > 0 {
				stamp[r] = mark
				set = append(set, r)
			}
		}
		k := 3 + rng.IntN(12)
		seed := -1
		bad := s.wanting(rng, seeds)
		switch {
		case bad >= 0 && (replan || rng.IntN(4) != 0):
			// Make room for a request that is late or unplaced: take out
			// some of those working in its window.
			seed = bad
			add(seed)
			q := &p.reqs[seed]
			if rng.IntN(2) == 0 {
				for _, pr := range q.preds {
					add(pr)
				}
			}
			cand = s.workingIn(cand[:0], max(q.e, 0), min(q.l, p.days-1), stamp, mark)
		case replan:
			continue
		case rng.IntN(2) == 0:
			// A few days' work reshuffled.
			a := rng.IntN(p.days)
			cand = s.workingIn(cand[:0], a, min(a+2, p.days-1), stamp, mark)
		default:
			cand = cand[:0]
			for range k {
				cand = append(cand, open[rng.IntN(len(open))])
			}
		}
		for i := 0; i < len(cand) && len(set) < k+1; i++ {
			j := i + rng.IntN(len(cand)-i)
			cand[i], cand[j] = cand[j], cand[i]
			add(cand[i])
		}
		// Successors move with their predecessors.
		for i := 0; i < len(set); i++ {
			for _, su := range p.reqs[set[i]].succs {
				add(su)
			}
		}
		before := s.key
		for _, r := range set {
			saved[r] = s.remove(r)
		}
		s.repairOrder(set, seed, rng)
		for _, r := range set {
			modes[r] = forward
			if rng.IntN(10) < 3 {
				modes[r] = backward
			}
			s.insert(r, modes[r])
		}
		if c := s.key.better(before); c < 0 || replan && c == 0 {
			for _, r := range set {
				s.remove(r)
			}
			for _, r := range set {
				if saved[r] != nil {
					s.restore(r, saved[r])
				}
			}
		}
		for _, r := range set {
			saved[r] = nil
		}
	}
	return nil
}

// changed returns the requests a re-plan makes room for: not placed and
// not left unplaced by the saved plan, or late or unplaced with a
// previous job that could not be kept.
func (s *state) changed() []int {
	p := s.p
	var out []int
	for r := range p.reqs {
		q := &p.reqs[r]
		if q.need() == 0 || s.done[r] && s.last[r] <= q.l {
			continue // nothing to gain for it
		}
		lost := slices.ContainsFunc(q.prevs, func(pi int) bool { return s.prevReason[pi] != "" })
		if lost || !s.done[r] && !q.settled {
			out = append(out, r)
		}
	}
	return out
}

// wanting returns a random request that is unplaced or not wholly in its
// window, or -1. A request waiting for an unplaced predecessor gives the
// predecessor instead.
func (s *state) wanting(rng *rand.Rand, open []int) int {
	p := s.p
	// Sample rather than scan: a few tries find one when many want.
	for range 16 {
		r := open[rng.IntN(len(open))]
		if s.done[r] && s.last[r] <= p.reqs[r].l {
			continue
		}
		for !s.done[r] {
			i := slices.IndexFunc(p.reqs[r].preds, func(pr int) bool { return !s.done[pr] })
			if i < 0 {
				break
			}
			r = p.reqs[r].preds[i]
		}
		return r
	}
	return -1
}

// workingIn appends the requests with new work on days a..b, each once.
func (s *state) workingIn(out []int, a, b int, stamp []int, mark int) []int {
	p := s.p
	for h := range p.hhs {
		for d := a; d <= b; d++ {
			r := s.occ[h*p.days+d]
			if r >= 0 && stamp[r] != mark && s.seen[r] != mark {
				s.seen[r] = mark
				out = append(out, int(r))
			}
		}
	}
	return out
}

// repairOrder sorts set into the order the requests go back in: one of
// several rules chosen at random, predecessors always first.
func (s *state) repairOrder(set []int, seed int, rng *rand.Rand) {
	p := s.p
	switch rng.IntN(4) {
	case 0:
		slices.SortFunc(set, p.rank)
	case 1: // deadline first
		slices.SortFunc(set, func(a, b int) int {
			return cmp.Or(cmp.Compare(p.reqs[a].l, p.reqs[b].l), p.rank(a, b))
		})
	case 2: // tightest window first
		slices.SortFunc(set, func(a, b int) int {
			wa, wb := p.reqs[a].l-p.reqs[a].e, p.reqs[b].l-p.reqs[b].e
			return cmp.Or(cmp.Compare(wa, wb), p.rank(a, b))
		})
	default:
		rng.Shuffle(len(set), func(i, j int) { set[i], set[j] = set[j], set[i] })
	}
	if seed >= 0 && rng.IntN(2) == 0 {
		if i := slices.Index(set, seed); i > 0 {
			copy(set[1:i+1], set[:i])
			set[0] = seed
		}
	}
	// Stable topological fix: move each request behind its predecessors.
	for i := 0; i < len(set); i++ {
		for j := i + 1; j < len(set); j++ {
			if slices.Contains(p.reqs[set[i]].preds, set[j]) {
				pr := set[j]
				copy(set[i+1:j+1], set[i:j])
				set[i] = pr
				j = i // rescan from the moved predecessor
			}
		}
	}
}

// finish chooses the workers of every new job and writes the plan.
func (s *state) finish(ctx context.Context) (Plan, error) {
	if err := s.chooseWorkers(ctx); err != nil {
		return Plan{}, err
	}
	return s.plan(), nil
}

func (s *state) unplacedReason(r int) string {
	p := s.p
	lo, _, hi, pred, ok := s.bounds(r)
	switch {
	case !ok:
		return fmt.Sprintf("前序求助%[2]d未能安排 waits for request %[1]d, which could not be placed", p.reqs[pred].id, p.reqs[pred].id)
	case lo > hi:
		return "前后农活之间没有可用日期 no day is left between its predecessors and successors"
	}
	return fmt.Sprintf("截止前互助队人手不足 not enough free team members from %s to %s", p.dates[lo], p.dates[hi])
}
