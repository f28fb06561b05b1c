package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// DisputeWindow is how long after a job's completion the helped household
// may dispute what was posted against it. With no dispute by then the
// posting stands confirmed: the state is derived from the time, so no
// sweep has to run.
const DisputeWindow = 3 * 24 * time.Hour

// Dispute states of a done job. DisputeNone is stored; DisputeWindowOpen
// and DisputeLapsed are derived from the time (see Job.Dispute).
const (
	DisputeNone       = ""          // none raised
	DisputeOpen       = "disputed"  // raised; waiting for a cadre
	DisputeConfirmed  = "confirmed" // a cadre kept the posting, or the window passed without a dispute
	DisputeReversed   = "reversed"  // a cadre reversed the posting
	DisputeWindowOpen = "open"      // done, no dispute yet, the household may still raise one
)

// Resolutions a cadre gives a dispute.
const (
	ResolveConfirm = "confirm"
	ResolveReverse = "reverse"
)

// DisputeUntil is the end of the job's dispute window; nil for a job not
// done.
func (j *Job) DisputeUntil() *time.Time {
	if j.State != JobDone {
		return nil
	}
	at := j.UpdatedAt
	if j.CompletedAt != nil {
		at = *j.CompletedAt
	}
	until := at.Add(DisputeWindow).UTC()
	return &until
}

// Dispute is the job's dispute state at now: "" for a job not done;
// DisputeWindowOpen while the household may still dispute; DisputeOpen
// while a cadre has yet to resolve one; DisputeConfirmed or
// DisputeReversed after.
func (j *Job) Dispute(now time.Time) string {
	until := j.DisputeUntil()
	switch {
	case until == nil:
		return ""
	case j.DisputeState != DisputeNone:
		return j.DisputeState
	case now.Before(*until):
		return DisputeWindowOpen
	default:
		return DisputeConfirmed
	}
}

// DisputeJob is the helped household disputing what a job's completion
// posted against it, within DisputeWindow: the job is flagged for the
// cadre, who confirms or reverses it. The caller checks that the job is
// on the household's own request. Disputing a job not done, after the
// window, or a second time is ECONFLICT saying what to do instead.
func (s *Store) DisputeJob(ctx context.Context, villageID, id int64, actor, reason string) (*Job, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, Invalid("body.reason", "请写明异议原因 say what is wrong with the record")
	}
	var j *Job
	err := s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		c, err := loadJob(ctx, l.db, villageID, id)
		if err != nil {
			return err
		}
		j = c.job
		switch j.Dispute(l.now) {
		case "":
			return stateError("job", id, j.State, "disputed")
		case DisputeOpen:
			return conflictNext("已提出异议", fmt.Sprintf("job %d is already disputed", id), "等村干部处理", "wait: the village cadre confirms or reverses it (resolve-dispute)")
		case DisputeConfirmed, DisputeReversed:
			if j.DisputeState == DisputeNone {
				return conflictNext("完工已超过3天，记账已确认",
					fmt.Sprintf("the 3-day dispute window of job %d closed at %s and its posting stands", id, j.DisputeUntil().Format(time.RFC3339)),
					"如有出入请找村干部更正", "ask the village cadre to correct it (reverse-transaction or create-transfer)")
			}
			return conflictNext(fmt.Sprintf("该异议已由村干部处理（%s）", disputeNames[j.DisputeState]),
				fmt.Sprintf("the dispute on job %d was already resolved (%s)", id, j.DisputeState),
				"如仍有出入请找村干部", "ask the village cadre if anything is still wrong (create-transfer)")
		}
		j.DisputeState, j.DisputeReason, j.DisputedAt = DisputeOpen, reason, &l.now
		if err := l.touchJob(ctx, j); err != nil {
			return err
		}
		if err := l.transition(ctx, "job", j.ID, j.State, j.State, "异议 disputed: "+reason); err != nil {
			return err
		}
		return l.notify(ctx, AudienceCadre, villageID, "job.disputed", "job", j.ID,
			"%s对%s %s的记工有异议：%s。请核实后确认或冲正。", c.helped.HeadName, j.Date, c.what(), reason)
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// ResolveDispute is a cadre settling a disputed job: ResolveConfirm keeps
// the posting; ResolveReverse posts the reversal of the job's transaction
// in the same write transaction and marks the job reversed. A job not
// disputed, or already resolved, is ECONFLICT.
func (s *Store) ResolveDispute(ctx context.Context, villageID, id int64, actor, resolution, note string) (*Job, error) {
	if resolution != ResolveConfirm && resolution != ResolveReverse {
		return nil, Invalid("body.resolution", "处理方式应为confirm或reverse resolution is confirm or reverse, not %q", resolution)
	}
	note = strings.TrimSpace(note)
	var j *Job
	err := s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		c, err := loadJob(ctx, l.db, villageID, id)
		if err != nil {
			return err
		}
		j = c.job
		if j.DisputeState != DisputeOpen {
			if j.DisputeState == DisputeNone {
				return conflictNext("该派工没有待处理的异议", fmt.Sprintf("job %d has no open dispute to resolve", id), "无需处理", "nothing to do")
			}
			return conflictNext(fmt.Sprintf("该异议已处理（%s）", disputeNames[j.DisputeState]),
				fmt.Sprintf("the dispute on job %d was already resolved (%s)", id, j.DisputeState),
				"如需更正，请记一笔调整", "correct the ledger with a transfer if needed (create-transfer)")
		}
		msg := "村干部核实了%s的记工，维持原记账。"
		j.DisputeState = DisputeConfirmed
		if resolution == ResolveReverse {
			if j.TransactionID == nil {
				return conflictNext("该派工没有记账", fmt.Sprintf("job %d has no posting to reverse", id), "维持即可", "nothing to reverse: resolve it with confirm")
			}
			p := Posting{VillageID: villageID, Actor: actor, Memo: fmt.Sprintf("派工%d异议冲正：%s", j.ID, c.what())}
			meta, build := reversal(p, *j.TransactionID)
			tx, _, err := s.postIn(ctx, l.db, p, meta, build)
			if err != nil {
				return err
			}
			j.DisputeState, j.ReversalID = DisputeReversed, &tx.ID
			msg = "村干部核实了%s的记工，已冲正原记账。"
		}
		if err := l.touchJob(ctx, j); err != nil {
			return err
		}
		what := "异议处理 dispute " + j.DisputeState
		if note != "" {
			what += ": " + note
		}
		if err := l.transition(ctx, "job", j.ID, j.State, j.State, what); err != nil {
			return err
		}
		if err := l.notify(ctx, AudienceHousehold, c.request.HouseholdID, "job.dispute_resolved", "job", j.ID,
			msg, j.Date+" "+c.what()); err != nil {
			return err
		}
		return l.notify(ctx, AudienceTeam, j.TeamID, "job.dispute_resolved", "job", j.ID, msg, j.Date+" "+c.what())
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

var disputeNames = map[string]string{DisputeConfirmed: "已维持", DisputeReversed: "已冲正", DisputeOpen: "待处理"}

// touchJob saves a job whose state stays as it is.
func (l *loopTx) touchJob(ctx context.Context, j *Job) error {
	j.UpdatedAt = l.now
	j.Version++
	_, err := l.db.NewUpdate().Model(j).WherePK().Exec(ctx)
	return translate(err, "job")
}

// DisputedJobs returns the village's jobs with a dispute waiting for a
// cadre, oldest dispute first: what the board flags.
func (s *Store) DisputedJobs(ctx context.Context, villageID int64) ([]*Job, error) {
	var out []*Job
	err := s.db.NewSelect().Model(&out).Where("village_id = ?", villageID).Where("dispute_state = ?", DisputeOpen).
		OrderExpr("disputed_at, id").Limit(MaxPageLimit).Scan(ctx)
	return out, translate(err, "jobs")
}
