package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/sse"

	"huangong/store"
)

// EventPoll is how often an open event stream looks for new outbox rows.
// The outbox is written in the same transaction as the change it tells of,
// so polling it misses nothing a crash could lose; a second is quick
// enough for people in a field. Tests shorten it.
var EventPoll = time.Second

// EventKeepAlive is how often a quiet stream sends a ping, so proxies keep
// it open and a phone that went away is noticed by a failed write.
var EventKeepAlive = 25 * time.Second

// EventBacklog is how many of the caller's latest events a stream opened
// without a cursor replays first, so `curl -N /v1/events` shows what the
// caller was last told instead of nothing until something happens.
var EventBacklog = 10

// Event is one notification from the outbox.
type Event struct {
	ID         int64     `json:"id" example:"42" doc:"Event ID, increasing; the stream's id, sent back as Last-Event-ID 事件编号"`
	Event      string    `json:"event" example:"job.scheduled" doc:"What happened: request.submitted, job.scheduled, job.confirmed, job.declined, job.cancelled, job.done, request.done, request.feedback, request.overdue, jobs.today, notice.published, plan.updated (one digest per household and team of what a saved plan changed for it) 事件类型"`
	Audience   string    `json:"audience" enum:"household,team,cadre" example:"household" doc:"Who it is for: a household, a team's leader, the village office 接收方"`
	AudienceID int64     `json:"audienceId" example:"1" doc:"The household, the team, or the village 接收方编号"`
	Subject    string    `json:"subject" example:"job" doc:"What it is about: request, job, team or notice 对象"`
	SubjectID  int64     `json:"subjectId" example:"9" doc:"Its ID 对象编号"`
	Message    string    `json:"message" example:"第一互助队 将于2026-04-21来帮您插秧（门口田），计划2人。" doc:"The text, ready for an SMS 通知内容"`
	CreatedAt  time.Time `json:"createdAt" example:"2026-04-12T03:50:00Z" doc:"When the change happened 时间"`
}

// EventTypes are the kinds of event the outbox carries, as Event.Event
// documents them; the pages have a label for each.
var EventTypes = []string{
	"request.submitted", "job.scheduled", "job.confirmed", "job.declined", "job.cancelled", "job.done",
	"request.done", "request.feedback", "request.overdue", "jobs.today", "notice.published", "plan.updated",
	"job.disputed", "job.dispute_resolved",
}

func eventOf(e *store.OutboxEvent) Event {
	return Event{ID: e.ID, Event: e.Event, Audience: e.Audience, AudienceID: e.AudienceID, Subject: e.Subject,
		SubjectID: e.SubjectID, Message: e.Message, CreatedAt: e.CreatedAt}
}

// Ping keeps a quiet stream open.
type Ping struct {
	At time.Time `json:"at" example:"2026-04-12T03:50:25Z" doc:"Server time 服务器时间"`
}

// EventsBody is a page of the caller's events.
type EventsBody struct {
	Items []Event `json:"items" doc:"Events after the one asked for, oldest first 事件（按时间先后）"`
	Last  int64   `json:"last" example:"42" doc:"ID of the last event here, or the after asked for when there is none: pass as ?after= for more 最后一条编号"`
}

// outboxFilter is the slice of the outbox a caller may read: a household
// its own events, a leader its team's, a cadre the whole village's.
func outboxFilter(p *Principal) store.OutboxFilter {
	switch p.Role {
	case store.RoleHousehold:
		return store.OutboxFilter{Audience: store.AudienceHousehold, AudienceID: p.HouseholdID}
	case store.RoleLeader:
		return store.OutboxFilter{Audience: store.AudienceTeam, AudienceID: p.TeamID}
	}
	return store.OutboxFilter{}
}

type streamKey struct{}

// streaming readies the response of a long-lived stream: it lifts the
// write deadline the server's WriteTimeout set for the whole response (a
// stream lasts longer; huma's sse sets a short deadline before each event
// it writes instead) and hands the handler a controller to flush the
// headers with.
func (s *Server) streaming(ctx huma.Context, next func(huma.Context)) {
	if w, ok := ctx.BodyWriter().(http.ResponseWriter); ok {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Time{}); err != nil {
			s.log.Warn("events: cannot lift the write deadline", "err", err)
		}
		ctx = huma.WithValue(ctx, streamKey{}, rc)
	}
	next(ctx)
}

// backlogStart is where a stream without a cursor starts: after the
// event backlog places before the newest in the caller's slice (0 when
// it holds no more than backlog), so those are replayed first.
func (s *Server) backlogStart(ctx context.Context, villageID int64, f store.OutboxFilter, backlog int) (int64, error) {
	f.Limit = store.MaxPageLimit
	var ids []int64 // the newest backlog+1 IDs seen
	for {
		rows, err := s.store.Outbox(ctx, villageID, f)
		if err != nil {
			return 0, err
		}
		for _, e := range rows {
			ids = append(ids, e.ID)
		}
		if len(ids) > backlog+1 {
			ids = ids[len(ids)-backlog-1:]
		}
		if len(rows) > 0 {
			f.After = rows[len(rows)-1].ID
		}
		if len(rows) < f.Limit {
			break
		}
	}
	if len(ids) <= backlog {
		return 0, nil
	}
	return ids[0], nil
}

func (s *Server) addEventRoutes() {
	roles := secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold)

	huma.Register(s.api, huma.Operation{
		OperationID: "list-events", Method: http.MethodGet, Path: "/v1/events/log",
		Summary: "通知记录 Read your notifications", Tags: []string{"events"}, Security: roles,
		Description: "农户看本户，队长看本队，村干部看全村。 The outbox rows the caller may read, oldest first: a household its own, a leader its team's, a cadre " +
			"the whole village's. Page with ?after= the last ID seen.",
		Errors: []int{401, 403, 422},
	}, func(ctx context.Context, in *struct {
		After int64 `query:"after" minimum:"0" example:"41" doc:"Only events with a larger ID 只看此编号之后"`
		Limit int   `query:"limit" minimum:"1" maximum:"200" default:"50" example:"50" doc:"At most this many 条数"`
	}) (*struct{ Body EventsBody }, error) {
		p := caller(ctx)
		f := outboxFilter(p)
		f.After, f.Limit = in.After, in.Limit
		rows, err := s.store.Outbox(ctx, p.VillageID, f)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct{ Body EventsBody }{Body: EventsBody{Items: make([]Event, len(rows)), Last: in.After}}
		for i, e := range rows {
			out.Body.Items[i] = eventOf(e)
			out.Body.Last = e.ID
		}
		return out, nil
	})

	sse.Register(s.api, huma.Operation{
		OperationID: "stream-events", Method: http.MethodGet, Path: "/v1/events",
		Summary: "实时通知 Stream your notifications", Tags: []string{"events"}, Security: roles,
		Description: "Server-sent events: each outbox row the caller may read as a `message` whose id is the event ID, " +
			"and a `ping` when the stream has been quiet. Without a cursor the stream first replays the caller's latest events (up to 10), then goes on with new ones; " +
			"a reconnecting client sends Last-Event-ID (browsers do) or ?after= and misses nothing. " +
			"A token holds at most 4 streams at once; a fifth is 429 (每个令牌最多同时4个推送连接). " +
			"服务器推送：农户收本户通知，队长收本队通知，村干部收全村通知；断线重连带Last-Event-ID不漏消息。",
		Errors:      []int{401, 403, 422, 429},
		Middlewares: huma.Middlewares{s.limitStreams, s.streaming},
	}, map[string]any{"message": Event{}, "ping": Ping{}}, func(ctx context.Context, in *struct {
		LastEventID int64 `header:"Last-Event-ID" minimum:"0" example:"41" doc:"The last event ID received; the stream resumes after it 最后收到的事件编号"`
		After       int64 `query:"after" minimum:"0" example:"41" doc:"The same as Last-Event-ID, for clients that cannot set headers; 0 or absent: the latest 10 first, then new ones 从此编号之后开始"`
	}, send sse.Sender) {
		p, every, keepAlive := caller(ctx), EventPoll, EventKeepAlive
		f := outboxFilter(p)
		f.After, f.Limit = max(in.LastEventID, in.After), store.MaxPageLimit
		if f.After == 0 {
			var err error
			if f.After, err = s.backlogStart(ctx, p.VillageID, f, EventBacklog); err != nil {
				s.log.ErrorContext(ctx, "events: start", "err", err)
				return
			}
		}
		// The headers go out now, once the cursor is fixed: a client that
		// sees the stream open will not miss what happens next.
		if rc, ok := ctx.Value(streamKey{}).(*http.ResponseController); ok {
			if err := rc.Flush(); err != nil {
				return
			}
		}
		poll, keep := time.NewTicker(every), time.NewTicker(keepAlive)
		defer poll.Stop()
		defer keep.Stop()
		// drain sends every event after the cursor; false when the stream
		// is over.
		drain := func() bool {
			sent := false
			for {
				rows, err := s.store.Outbox(ctx, p.VillageID, f)
				if err != nil {
					if ctx.Err() == nil {
						s.log.ErrorContext(ctx, "events: poll", "err", err)
					}
					return false
				}
				for _, e := range rows {
					if send(sse.Message{ID: int(e.ID), Data: eventOf(e)}) != nil {
						return false
					}
					f.After, sent = e.ID, true
				}
				if len(rows) < f.Limit {
					break
				}
			}
			if sent {
				keep.Reset(keepAlive)
			}
			return true
		}
		if !drain() { // the backlog, or what was missed, at once
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.closing:
				return
			case <-keep.C:
				if send(sse.Message{Data: Ping{At: s.store.Now().UTC()}}) != nil {
					return
				}
			case <-poll.C:
				// A revoke or the token's expiry ends the stream within a
				// poll, as it ends every other request at once.
				if live, err := s.store.TokenLive(ctx, p.TokenID); !live {
					if err != nil && ctx.Err() == nil {
						s.log.ErrorContext(ctx, "events: token", "err", err)
					}
					return
				}
				if !drain() {
					return
				}
			}
		}
	})
}
