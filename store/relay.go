package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// EnqueueDeliveries turns the outbox events after the relay's cursor (at
// most limit of them, in order) into deliveries, one per event and
// channel its audience has, and moves the cursor past them, in one
// transaction: an event is queued exactly once however the relay stops.
// A household's events go to the village's SMS gateway (to its phone),
// a team's to its group robots, every event to the village's webhook.
// A message falling in quiet hours is due when they end, except an urgent
// rain-out when the village lets it through and the morning job list,
// which goes at the time its cron names; a household's SMS held by quiet
// hours is folded into the one already held for it, so a night of changes
// is one message in the morning. It returns how many events it read.
func (s *Store) EnqueueDeliveries(ctx context.Context, limit int) (int, error) {
	// Most ticks find nothing new: find that out without a write
	// transaction, which would take the database's write lock.
	var last, newest int64
	err := s.db.NewSelect().Model((*relayCursor)(nil)).ColumnExpr("COALESCE(MAX(last_event), 0)").Scan(ctx, &last)
	if err == nil {
		err = s.db.NewSelect().Model((*OutboxEvent)(nil)).ColumnExpr("COALESCE(MAX(id), 0)").Scan(ctx, &newest)
	}
	if err != nil || newest <= last {
		return 0, translate(err, "outbox")
	}
	n := 0
	err = s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		now := s.Now().UTC()
		var curs []*relayCursor
		if err := tx.NewSelect().Model(&curs).Where("id = 1").Scan(ctx); err != nil {
			return translate(err, "relay cursor")
		}
		cur := relayCursor{ID: 1}
		if len(curs) == 1 {
			cur = *curs[0]
		}
		var events []*OutboxEvent
		if err := tx.NewSelect().Model(&events).Where("id > ?", cur.LastEvent).OrderExpr("id").Limit(int64(limit)).Scan(ctx); err != nil {
			return translate(err, "outbox")
		}
		n = len(events)
		if n == 0 {
			return nil
		}
		q := &enqueue{s: s, db: tx, now: now, channels: map[int64][]*Channel{}, settings: map[int64]*NotifySettings{}, villages: map[int64]*Village{}}
		for _, e := range events {
			if err := q.event(ctx, e); err != nil {
				return err
			}
		}
		cur.LastEvent = events[len(events)-1].ID
		_, err := tx.NewInsert().Model(&cur).On("CONFLICT (id) DO UPDATE").Set("last_event = EXCLUDED.last_event").Exec(ctx)
		return translate(err, "relay cursor")
	})
	return n, err
}

// enqueue is one EnqueueDeliveries transaction with what it has read.
type enqueue struct {
	s        *Store
	db       bun.IDB
	now      time.Time
	channels map[int64][]*Channel // by village, enabled only
	settings map[int64]*NotifySettings
	villages map[int64]*Village
}

func (q *enqueue) villageChannels(ctx context.Context, villageID int64) ([]*Channel, error) {
	if cs, ok := q.channels[villageID]; ok {
		return cs, nil
	}
	var cs []*Channel
	err := q.db.NewSelect().Model(&cs).Where("village_id = ?", villageID).Where("enabled = ?", true).
		Where("deleted_at IS NULL").OrderExpr("id").Scan(ctx)
	if err != nil {
		return nil, translate(err, "notification channels")
	}
	q.channels[villageID] = cs
	if q.settings[villageID], err = q.s.notifySettings(ctx, q.db, villageID); err != nil {
		return nil, err
	}
	if q.villages[villageID], err = q.s.village(ctx, q.db, villageID); err != nil {
		return nil, err
	}
	return cs, nil
}

func (q *enqueue) event(ctx context.Context, e *OutboxEvent) error {
	cs, err := q.villageChannels(ctx, e.VillageID)
	if err != nil || len(cs) == 0 {
		return err
	}
	var targets []*Channel
	for _, c := range cs {
		if e.ID <= c.FromEvent {
			continue
		}
		switch {
		case c.Kind == ChannelWebhook,
			c.Kind == ChannelSMS && e.Audience == AudienceHousehold,
			(c.Kind == ChannelWeCom || c.Kind == ChannelDingTalk) && e.Audience == AudienceTeam && c.TeamID == e.AudienceID:
			targets = append(targets, c)
		}
	}
	if len(targets) == 0 {
		return nil
	}
	urgent, err := q.urgent(ctx, e)
	if err != nil {
		return err
	}
	// A record the message names that is gone must not stop the relay
	// at this event: the message goes without the contact line.
	text, err := q.text(ctx, e)
	if ErrorCode(err) == ENOTFOUND {
		text, err = e.Message, nil
	}
	if err != nil {
		return err
	}
	set, loc := q.settings[e.VillageID], q.villages[e.VillageID].Location()
	for _, c := range targets {
		d := &Delivery{VillageID: e.VillageID, EventID: e.ID, ChannelID: c.ID, Kind: c.Kind,
			MessageID: fmt.Sprintf("hg-%d-%d-%d", e.VillageID, e.ID, c.ID),
			Audience:  e.Audience, AudienceID: e.AudienceID, Event: e.Event, Subject: e.Subject, SubjectID: e.SubjectID,
			Text: text, Urgent: urgent, State: DeliveryPending, DueAt: q.now, CreatedAt: q.now}
		if c.Kind == ChannelWebhook {
			d.Text = e.Message // machines get the event as it is; the webhook carries the rest as fields
		}
		d.DueAt = set.Hold(d, q.now, loc)
		d.NextAt = d.DueAt
		if c.Kind == ChannelSMS {
			h, err := getOne[Household](ctx, q.db, e.VillageID, e.AudienceID, "household")
			if err != nil && ErrorCode(err) != ENOTFOUND {
				return err
			}
			if h != nil {
				d.Recipient = h.Phone
			}
			if d.Recipient == "" {
				d.State, d.LastError = DeliveryFailed, "农户未登记电话 the household has no phone on record"
			} else if d.DueAt.After(q.now) {
				merged, err := q.merge(ctx, d)
				if err != nil {
					return err
				}
				if merged {
					continue
				}
			}
		}
		_, err := q.db.NewInsert().Model(d).On("CONFLICT (event_id, channel_id) DO NOTHING").Exec(ctx)
		if err != nil {
			return translate(err, "delivery")
		}
	}
	return nil
}

// mergedMax bounds a message that quiet hours fold others into, so it
// stays a text message; past it a new one is started.
const mergedMax = 300

// merge folds a held SMS into the one already held for the same phone
// until the same time, if any, and records d as merged into it.
func (q *enqueue) merge(ctx context.Context, d *Delivery) (bool, error) {
	var held []*Delivery
	err := q.db.NewSelect().Model(&held).Where("channel_id = ?", d.ChannelID).Where("recipient = ?", d.Recipient).
		Where("state = ?", DeliveryPending).Where("attempts = 0").Where("due_at = ?", d.DueAt).OrderExpr("id DESC").Limit(int64(1)).Scan(ctx)
	if err != nil {
		return false, translate(err, "deliveries")
	}
	if len(held) == 0 || len([]rune(held[0].Text))+len([]rune(d.Text)) > mergedMax {
		return false, nil
	}
	into := held[0]
	if _, err := q.db.NewUpdate().Model(into).Set("text = ?", into.Text+"\n"+d.Text).WherePK().Exec(ctx); err != nil {
		return false, translate(err, "delivery")
	}
	d.State, d.LastError = DeliveryMerged, fmt.Sprintf("并入消息%[1]d一起发送 sent with message %[1]d", into.ID)
	_, err = q.db.NewInsert().Model(d).On("CONFLICT (event_id, channel_id) DO NOTHING").Exec(ctx)
	return true, translate(err, "delivery")
}

// urgent reports whether the event is a rain-out: a job cancelled by a
// blocked day.
func (q *enqueue) urgent(ctx context.Context, e *OutboxEvent) (bool, error) {
	if e.Event != "job.cancelled" || e.Subject != "job" {
		return false, nil
	}
	ok, err := q.db.NewSelect().Model((*Transition)(nil)).Where("village_id = ?", e.VillageID).Where("subject = 'job'").
		Where("subject_id = ?", e.SubjectID).Where("note = ?", RainNote).Exists(ctx)
	return ok, translate(err, "transitions")
}

// text is what a person reads: the event's message, and on a household's
// job message who to call — the team leader's name and phone.
func (q *enqueue) text(ctx context.Context, e *OutboxEvent) (string, error) {
	if e.Audience != AudienceHousehold {
		return e.Message, nil
	}
	var teams []int64
	switch e.Subject {
	case "job":
		j, err := getOne[Job](ctx, q.db, e.VillageID, e.SubjectID, "job")
		if err != nil {
			return "", err
		}
		teams = []int64{j.TeamID}
	case "request":
		// A plan's digest: the teams now coming to the household.
		err := q.db.NewSelect().Model((*Job)(nil)).ColumnExpr("DISTINCT team_id").
			Join("JOIN help_requests AS r ON r.id = job.request_id").
			Where("job.village_id = ?", e.VillageID).Where("r.household_id = ?", e.AudienceID).
			Where("job.state IN (?)", bun.In([]string{JobScheduled, JobConfirmed})).OrderExpr("team_id").Scan(ctx, &teams)
		if err != nil {
			return "", translate(err, "jobs")
		}
	}
	var contacts []string
	for _, id := range teams {
		t, err := getOne[Team](ctx, q.db, e.VillageID, id, "team")
		if err != nil {
			return "", err
		}
		if t.LeaderName == "" {
			continue
		}
		c := t.LeaderName
		if t.LeaderHouseholdID != nil {
			if h, err := getOne[Household](ctx, q.db, e.VillageID, *t.LeaderHouseholdID, "household"); err == nil && h.Phone != "" {
				c += " " + h.Phone
			}
		}
		contacts = append(contacts, t.Name+"队长"+c)
	}
	if len(contacts) == 0 {
		return e.Message, nil
	}
	return e.Message + "有事请找" + strings.Join(contacts, "，") + "。", nil
}

// DueDeliveries returns up to limit pending deliveries due at now, the
// oldest first, with their channels. A paused channel's wait for it to be
// enabled again; a removed channel's failed when it was removed.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*Delivery, map[int64]*Channel, error) {
	var ds []*Delivery
	enabled := s.db.NewSelect().Model((*Channel)(nil)).Column("id").Where("enabled = ?", true).Where("deleted_at IS NULL")
	err := s.db.NewSelect().Model(&ds).Where("state = ?", DeliveryPending).Where("next_at <= ?", now.UTC()).
		Where("channel_id IN (?)", enabled).OrderExpr("next_at, id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, nil, translate(err, "deliveries")
	}
	chans := map[int64]*Channel{}
	var ids []int64
	for _, d := range ds {
		if !slices.Contains(ids, d.ChannelID) {
			ids = append(ids, d.ChannelID)
		}
	}
	if len(ids) > 0 {
		var cs []*Channel
		if err := s.db.NewSelect().Model(&cs).Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
			return nil, nil, translate(err, "notification channels")
		}
		for _, c := range cs {
			chans[c.ID] = c
		}
	}
	return ds, chans, nil
}

// BeginAttempt records that a delivery is being tried at now, before the
// request leaves: after a crash its Attempts say it may have arrived. It
// reports false, and the delivery must not be sent, when it is no longer
// pending: its channel was removed since it was found due.
func (s *Store) BeginAttempt(ctx context.Context, id int64, now time.Time) (bool, error) {
	res, err := s.db.NewUpdate().Model((*Delivery)(nil)).Set("attempts = attempts + 1").Set("last_attempt_at = ?", now.UTC()).
		Where("id = ?", id).Where("state = ?", DeliveryPending).Exec(ctx)
	if err != nil {
		return false, translate(err, "delivery")
	}
	n, err := res.RowsAffected()
	return n == 1, translate(err, "delivery")
}

// PutOff moves pending deliveries not yet tried at their time to next,
// counting no attempt: the relay puts off the rest of a channel's batch
// when the channel is unreachable or asks it to slow down.
func (s *Store) PutOff(ctx context.Context, next time.Time, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.db.NewUpdate().Model((*Delivery)(nil)).Set("next_at = ?", next.UTC()).Where("id IN (?)", bun.In(ids)).
		Where("state = ?", DeliveryPending).Where("next_at < ?", next.UTC()).Exec(ctx)
	return translate(err, "deliveries")
}

// Outcome is how one attempt at a delivery ended.
type Outcome struct {
	State string    // DeliveryDelivered, DeliveryFailed, or DeliveryPending to retry at Next
	Next  time.Time // the retry
	Error string    // why it failed, with no secret in it
}

// FinishAttempt records an attempt's outcome at now.
func (s *Store) FinishAttempt(ctx context.Context, id int64, now time.Time, o Outcome) error {
	q := s.db.NewUpdate().Model((*Delivery)(nil)).Set("state = ?", o.State).Set("last_error = ?", o.Error).
		Where("id = ?", id).Where("state = ?", DeliveryPending)
	switch o.State {
	case DeliveryDelivered:
		q = q.Set("delivered_at = ?", now.UTC())
	case DeliveryPending:
		q = q.Set("next_at = ?", o.Next.UTC())
	case DeliveryFailed:
	default:
		return Errorf(EINVALID, "delivery outcome %q", o.State)
	}
	_, err := q.Exec(ctx)
	return translate(err, "delivery")
}

// DeliveryFilter narrows list-deliveries.
type DeliveryFilter struct {
	State      string
	ChannelID  int64
	Audience   string
	AudienceID int64
}

// ListDeliveries returns a page of the village's deliveries in the order
// they were queued.
func (s *Store) ListDeliveries(ctx context.Context, villageID int64, f DeliveryFilter, p Page) ([]*Delivery, int64, error) {
	if err := f.check(); err != nil {
		return nil, 0, err
	}
	return paginate(ctx, s.db, villageID, p, func(d *Delivery) int64 { return d.ID }, "deliveries", f.apply)
}

// NewestDeliveries returns the village's newest limit deliveries that
// pass f, newest first: the board's list of failed messages.
func (s *Store) NewestDeliveries(ctx context.Context, villageID int64, f DeliveryFilter, limit int) ([]*Delivery, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	var out []*Delivery
	err := f.apply(s.db.NewSelect().Model(&out).Where("village_id = ?", villageID)).OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx)
	return out, translate(err, "deliveries")
}

func (f DeliveryFilter) check() error {
	if f.State != "" && !slices.Contains(DeliveryStates, f.State) {
		return Invalid("query.state", "发送状态无效 state must be one of %v", DeliveryStates)
	}
	return nil
}

func (f DeliveryFilter) apply(q *bun.SelectQuery) *bun.SelectQuery {
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	if f.ChannelID != 0 {
		q = q.Where("channel_id = ?", f.ChannelID)
	}
	if f.Audience != "" {
		q = q.Where("audience = ?", f.Audience).Where("audience_id = ?", f.AudienceID)
	}
	return q
}

// RecentDeliveries returns the newest deliveries to an audience (through
// any channel but the webhook), newest first: what a household's page
// shows of the messages sent to it.
func (s *Store) RecentDeliveries(ctx context.Context, villageID int64, audience string, audienceID int64, limit int) ([]*Delivery, error) {
	var out []*Delivery
	err := s.db.NewSelect().Model(&out).Where("village_id = ?", villageID).Where("audience = ?", audience).
		Where("audience_id = ?", audienceID).Where("kind <> ?", ChannelWebhook).OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx)
	return out, translate(err, "deliveries")
}

// RetryDelivery sends a failed delivery again with the same message ID,
// from now or, when now is in quiet hours and the message may not ring a
// phone at night, from their end. A removed channel's is ECONFLICT.
func (s *Store) RetryDelivery(ctx context.Context, villageID, id int64) (*Delivery, error) {
	var d *Delivery
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if d, err = getOne[Delivery](ctx, tx, villageID, id, fmt.Sprintf("delivery %d", id)); err != nil {
			return err
		}
		if d.State != DeliveryFailed {
			return Errorf(ECONFLICT, "只有发送失败的消息可以重发 delivery %d is %s; only a failed one is sent again", id, d.State)
		}
		if d.Kind == ChannelSMS && d.Recipient == "" {
			return Errorf(ECONFLICT, "农户未登记电话 delivery %d has no phone to send to", id)
		}
		c, err := getOne[Channel](ctx, tx, villageID, d.ChannelID, "notification channel")
		if err != nil {
			return err
		}
		if c.DeletedAt != nil {
			return Errorf(ECONFLICT, "渠道已删除，不能重发 delivery %d went through channel %d, which was removed; it cannot be sent again", id, c.ID)
		}
		set, err := s.notifySettings(ctx, tx, villageID)
		if err != nil {
			return err
		}
		v, err := s.village(ctx, tx, villageID)
		if err != nil {
			return err
		}
		due := set.Hold(d, s.Now().UTC(), v.Location())
		d.State, d.DueAt, d.NextAt, d.LastError = DeliveryPending, due, due, ""
		_, err = tx.NewUpdate().Model(d).Column("state", "due_at", "next_at", "last_error").WherePK().Exec(ctx)
		return translate(err, "delivery")
	})
	return d, err
}
