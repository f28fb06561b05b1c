package api

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"huangong/scheduler"
	"huangong/store"
)

// Season is a busy season as the API shows it.
type Season struct {
	ID        int64             `json:"id" example:"1" doc:"Season ID 农时编号"`
	Year      int               `json:"year" example:"2026" doc:"Year, taken from the start date 年份"`
	Kind      string            `json:"kind" enum:"spring,summer,autumn" example:"spring" doc:"spring 春耕, summer 夏收/双抢, autumn 秋收 农时类型"`
	Name      string            `json:"name" example:"2026 春耕" doc:"Name 名称"`
	StartDate string            `json:"startDate" format:"date" example:"2026-04-05" doc:"First day 开始日期"`
	EndDate   string            `json:"endDate" format:"date" example:"2026-05-05" doc:"Last day 结束日期"`
	Tasks     []string          `json:"tasks" enum:"prepare,transplant,harvest" example:"[\"prepare\",\"transplant\"]" doc:"Tasks requests in this season may ask for 可申请的农活：整地、插秧、收割"`
	State     string            `json:"state" enum:"planned,open,closed" example:"open" doc:"planned → open → closed, forward only 状态：计划、进行中、已结束"`
	Crons     map[string]string `json:"crons" example:"{\"close\":\"0 22 5 5 *\",\"feedback\":\"30 6 * * *\",\"morning\":\"0 6 * * *\",\"notice\":\"0 8 * * 1\",\"overdue\":\"0 * * * *\",\"plan\":\"0 20 * * *\"}" doc:"各定时任务的cron规则 The cron spec of each job (plan, morning, overdue, feedback, notice, close), five fields in the village's timezone"`
	Version   int64             `json:"version" example:"2" doc:"Version; sent as the ETag 版本号"`
	CreatedAt time.Time         `json:"createdAt" example:"2026-03-01T02:00:00Z" doc:"Set up 设定时间"`
	UpdatedAt time.Time         `json:"updatedAt" example:"2026-04-05T00:00:00Z" doc:"Last changed 修改时间"`
}

func seasonOf(se *store.Season) Season {
	tasks, crons := se.Tasks, se.Crons
	if tasks == nil {
		tasks = []string{}
	}
	if crons == nil {
		crons = map[string]string{}
	}
	return Season{ID: se.ID, Year: se.Year, Kind: se.Kind, Name: se.Name, StartDate: se.StartDate, EndDate: se.EndDate,
		Tasks: tasks, State: se.State, Crons: crons, Version: se.Version, CreatedAt: se.CreatedAt, UpdatedAt: se.UpdatedAt}
}

// SeasonInput is a season a cadre sets up.
type SeasonInput struct {
	Kind      string            `json:"kind" enum:"spring,summer,autumn" example:"spring" doc:"spring 春耕, summer 夏收/双抢, autumn 秋收; one of each a year 农时类型（每年每类一个）"`
	Name      string            `json:"name,omitempty" maxLength:"40" example:"2026 春耕" doc:"Name; defaults to the year and kind 名称，默认按年份和类型"`
	StartDate string            `json:"startDate" format:"date" example:"2026-04-05" doc:"First day, YYYY-MM-DD 开始日期"`
	EndDate   string            `json:"endDate" format:"date" example:"2026-05-05" doc:"Last day, on or after the start 结束日期"`
	Tasks     []string          `json:"tasks" minItems:"1" maxItems:"3" uniqueItems:"true" enum:"prepare,transplant,harvest" example:"[\"prepare\",\"transplant\"]" doc:"Tasks requests may ask for 可申请的农活"`
	State     string            `json:"state,omitempty" enum:"planned,open" default:"planned" example:"planned" doc:"planned, or open at once 初始状态"`
	Crons     map[string]string `json:"crons,omitempty" example:"{\"plan\":\"0 21 * * *\"}" doc:"各定时任务的cron规则，未填的用默认 Cron specs by job (plan, morning, overdue, feedback, notice, close); the ones left out take the defaults"`
}

// SeasonPatch changes some of a season; absent properties stay.
type SeasonPatch struct {
	Name      *string           `json:"name,omitempty" maxLength:"40" example:"2026 春耕" doc:"Name; empty for the default 名称"`
	StartDate *string           `json:"startDate,omitempty" format:"date" example:"2026-04-03" doc:"First day 开始日期"`
	EndDate   *string           `json:"endDate,omitempty" format:"date" example:"2026-05-08" doc:"Last day 结束日期"`
	Tasks     *[]string         `json:"tasks,omitempty" minItems:"1" maxItems:"3" uniqueItems:"true" enum:"prepare,transplant,harvest" example:"[\"prepare\",\"transplant\",\"harvest\"]" doc:"Tasks requests may ask for, replacing the list 可申请的农活"`
	State     *string           `json:"state,omitempty" enum:"planned,open,closed" example:"open" doc:"The next state: planned → open → closed; a step back or a skip is 409 状态，只能依次推进"`
	Crons     map[string]string `json:"crons,omitempty" example:"{\"morning\":\"30 5 * * *\"}" doc:"修改所列任务的cron规则 Cron specs to change, by job; the others stay"`
}

// checkCrons refuses an unknown job or a spec the cron parser does not
// take, naming it (body.crons.plan).
func checkCrons(crons map[string]string) error {
	for job := range crons {
		if !slices.Contains(scheduler.CronJobs, job) {
			return store.Invalid("body.crons."+job, "未知的定时任务 unknown job %q; one of %v", job, scheduler.CronJobs)
		}
	}
	return scheduler.ValidateCrons("body.crons", crons)
}

// SeasonOutput is one season with its ETag.
type SeasonOutput struct {
	ETag string `header:"ETag" example:"\"2\"" doc:"Send back as If-Match to update 更新时回传"`
	Body Season
}

func seasonOutput(se *store.Season) *SeasonOutput {
	return &SeasonOutput{ETag: etag(se.Version), Body: seasonOf(se)}
}

// Norm is how many workdays a mu of a crop takes for a task.
type Norm struct {
	Crop          string  `json:"crop" enum:"early_rice,late_rice,single_rice,rapeseed,other" example:"early_rice" doc:"Crop 作物"`
	Task          string  `json:"task" enum:"prepare,transplant,harvest" example:"transplant" doc:"Task 农活"`
	WorkdaysPerMu float64 `json:"workdaysPerMu" exclusiveMinimum:"0" maximum:"20" example:"1.5" doc:"Workdays a mu takes, at most two decimals 每亩所需工日（最多两位小数）"`
}

// NormsBody is the village's labor norms.
type NormsBody struct {
	Norms []Norm `json:"norms" minItems:"1" maxItems:"15" doc:"Norms by crop and task 各作物各农活的用工定额"`
}

func normsOutput(ns []store.Norm) *struct{ Body NormsBody } {
	out := &struct{ Body NormsBody }{Body: NormsBody{Norms: make([]Norm, len(ns))}}
	for i, n := range ns {
		out.Body.Norms[i] = Norm{Crop: n.Crop, Task: n.Task, WorkdaysPerMu: float64(n.CentiPerMu) / 100}
	}
	return out
}

// hundredths converts a figure with at most two decimals to an integer
// count of hundredths, refusing finer precision rather than rounding it.
func hundredths(v float64, field string) (int64, error) {
	c := math.Round(v * 100)
	if math.Abs(v*100-c) > 1e-6 {
		return 0, store.Invalid(field, "最多两位小数 %v has more than two decimals", v)
	}
	return int64(c), nil
}

// SeasonReport is a season's closed-loop figures, measured from records.
type SeasonReport struct {
	Season              Season     `json:"season"`
	Received            int        `json:"received" example:"52" doc:"Help requests registered 收到求助"`
	Scheduled           int        `json:"scheduled" example:"51" doc:"Requests given at least one job 已派工"`
	Done                int        `json:"done" example:"50" doc:"Requests done (or closed after feedback) 已办结"`
	DoneOnTime          int        `json:"doneOnTime" example:"48" doc:"Done with the last job on or before the due date 按期办结"`
	Cancelled           int        `json:"cancelled" example:"1" doc:"Cancelled 已取消"`
	Open                int        `json:"open" example:"1" doc:"Still waiting 未办结"`
	Overdue             int        `json:"overdue" example:"0" doc:"Still waiting after the due date, as of now 已超期"`
	CompletionRate      float64    `json:"completionRate" example:"0.98" doc:"done ÷ (received − cancelled), from 0 to 1 办结率"`
	Responded           int        `json:"responded" example:"51" doc:"Requests with a confirmed job: the sample of the response times 有确认派工的求助数"`
	MeanResponseSeconds int64      `json:"meanResponseSeconds" example:"9000" doc:"Mean time from submitted to the first confirmed job, seconds 平均响应时间（秒）"`
	MeanResponseHours   float64    `json:"meanResponseHours" example:"2.5" doc:"The same in hours, two decimals 平均响应时间（小时）"`
	P90ResponseSeconds  int64      `json:"p90ResponseSeconds" example:"14400" doc:"90th percentile of the response time, seconds 90%响应时间（秒）"`
	P90ResponseHours    float64    `json:"p90ResponseHours" example:"4" doc:"The same in hours 90%响应时间（小时）"`
	Feedbacks           int        `json:"feedbacks" example:"40" doc:"Requests rated by their household 已评价数"`
	MeanFeedback        float64    `json:"meanFeedback" example:"4.8" doc:"Mean stars, 1 to 5; 0 without feedback 平均评分"`
	Workdays            float64    `json:"workdays" example:"186.5" doc:"Workdays exchanged on done jobs 换工总工日"`
	ByTeam              []TeamWork `json:"byTeam" doc:"Each team's share 各互助队"`
	BelowSoftLimit      int        `json:"belowSoftLimit" example:"2" doc:"Households below the village's soft limit now 低于提醒线的农户数"`
	Disputed            int        `json:"disputed" example:"1" doc:"The season's done jobs whose posting the helped household disputed, whatever the outcome 被提出异议的派工数"`
	DisputesOpen        int        `json:"disputesOpen" example:"0" doc:"Of those, still waiting for a cadre 待处理的异议"`
	DisputesReversed    int        `json:"disputesReversed" example:"1" doc:"Of those, reversed by a cadre 已冲正的异议"`
}

// TeamWork is one team's share of a season.
type TeamWork struct {
	TeamID   int64   `json:"teamId" example:"1" doc:"Team 互助队编号"`
	Name     string  `json:"name" example:"第一互助队" doc:"Team name 互助队"`
	Jobs     int     `json:"jobs" example:"18" doc:"Jobs done 完成派工数"`
	Workdays float64 `json:"workdays" example:"64.5" doc:"Workdays its members gave 出工工日"`
}

func seconds(d time.Duration) int64 { return int64(math.Round(d.Seconds())) }
func hours(d time.Duration) float64 { return math.Round(d.Hours()*100) / 100 }

func reportOf(r *store.SeasonReport) SeasonReport {
	out := SeasonReport{
		Season: seasonOf(r.Season), Received: r.Received, Scheduled: r.Scheduled, Done: r.Done, DoneOnTime: r.DoneOnTime,
		Cancelled: r.Cancelled, Open: r.Open, Overdue: r.Overdue, CompletionRate: r.CompletionRate, Responded: r.Responded,
		MeanResponseSeconds: seconds(r.MeanResponse), MeanResponseHours: hours(r.MeanResponse),
		P90ResponseSeconds: seconds(r.P90Response), P90ResponseHours: hours(r.P90Response),
		Feedbacks: r.Feedbacks, MeanFeedback: r.MeanFeedback, Workdays: workdays(r.HalfDays),
		ByTeam: make([]TeamWork, len(r.ByTeam)), BelowSoftLimit: r.BelowSoftLimit,
		Disputed: r.Disputed, DisputesOpen: r.DisputesOpen, DisputesReversed: r.DisputesReversed,
	}
	for i, t := range r.ByTeam {
		out.ByTeam[i] = TeamWork{TeamID: t.TeamID, Name: t.Name, Jobs: t.Jobs, Workdays: workdays(t.HalfDays)}
	}
	return out
}

func (s *Server) addSeasonRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "list-seasons", Method: http.MethodGet, Path: "/v1/seasons",
		Summary: "农时列表 List seasons", Tags: []string{"seasons"},
		Description: "本村农时，按开始日期排列；各角色均可查看。 The village's busy seasons by start date. Every role may read them: a household sees when it may ask for help.",
		Security:    secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold), Errors: []int{401, 403, 422},
	}, func(ctx context.Context, in *struct {
		Year int `query:"year" minimum:"0" maximum:"2200" example:"2026" doc:"Only this year; 0 or absent for all 只看某年"`
	}) (*ListOutput[Season], error) {
		rows, err := s.store.ListSeasons(ctx, caller(ctx).VillageID, in.Year)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return listOf(rows, 0, seasonOf), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "create-season", Method: http.MethodPost, Path: "/v1/seasons",
		Summary: "设定农时 Set up a season", Tags: []string{"seasons"}, Security: secured(store.RoleCadre),
		Description:   "每年每类农时一个；求助时段须落在允许该农活的农时内。 One season of each kind a year (a second is 409). Help requests must fall inside a season that allows their task.",
		DefaultStatus: http.StatusCreated, Errors: []int{400, 401, 403, 409, 413, 415, 422},
	}, func(ctx context.Context, in *struct{ Body SeasonInput }) (*SeasonOutput, error) {
		b := in.Body
		if err := checkCrons(b.Crons); err != nil {
			return nil, s.problem(ctx, err)
		}
		crons, err := scheduler.DefaultCrons(b.EndDate)
		if err != nil {
			return nil, s.problem(ctx, store.Invalid("body.endDate", "%s", err.Error()))
		}
		maps.Copy(crons, b.Crons)
		se := &store.Season{VillageID: caller(ctx).VillageID, Kind: b.Kind, Name: b.Name,
			StartDate: b.StartDate, EndDate: b.EndDate, Tasks: b.Tasks, State: b.State, Crons: crons}
		if err := s.store.CreateSeason(ctx, se); err != nil {
			return nil, s.problem(ctx, err)
		}
		return seasonOutput(se), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-season", Method: http.MethodGet, Path: "/v1/seasons/{id}",
		Summary: "查看农时 Get a season", Tags: []string{"seasons"},
		Security: secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold), Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *IDPath) (*SeasonOutput, error) {
		se, err := s.store.GetSeason(ctx, caller(ctx).VillageID, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return seasonOutput(se), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-season", Method: http.MethodPatch, Path: "/v1/seasons/{id}",
		Summary: "修改农时 Change a season or move it on", Tags: []string{"seasons"}, Security: secured(store.RoleCadre),
		Description: "Dates, tasks, or the state one step forward (planned → open → closed; anything else is 409). " +
			"Send the ETag last read as If-Match; if the season changed since, 412 and nothing is written. " +
			"状态只能依次推进；须带If-Match。",
		Errors: []int{400, 401, 403, 404, 409, 412, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		IfMatchHeader
		Body SeasonPatch
	}) (*SeasonOutput, error) {
		version, err := ifMatch(in.IfMatch)
		if err != nil {
			return nil, err
		}
		if err := checkCrons(in.Body.Crons); err != nil {
			return nil, s.problem(ctx, err)
		}
		se, err := s.store.UpdateSeason(ctx, caller(ctx).VillageID, in.ID, version, func(se *store.Season) error {
			b := in.Body
			oldEnd := se.EndDate
			set(&se.Name, b.Name)
			set(&se.StartDate, b.StartDate)
			set(&se.EndDate, b.EndDate)
			set(&se.Tasks, b.Tasks)
			crons := maps.Clone(se.Crons)
			if crons == nil {
				crons = map[string]string{}
			}
			if se.EndDate != oldEnd {
				// The close cron derived from the old end date moves with
				// it; one the cadre set by hand stays theirs.
				was, _ := scheduler.DefaultCrons(oldEnd)
				now, err := scheduler.DefaultCrons(se.EndDate)
				if err != nil {
					return store.Invalid("body.endDate", "%s", store.ErrorMessage(err))
				}
				if c := crons[scheduler.CronClose]; c == "" || c == was[scheduler.CronClose] {
					crons[scheduler.CronClose] = now[scheduler.CronClose]
				}
			}
			maps.Copy(crons, b.Crons)
			se.Crons = crons
			if b.State != nil && *b.State == store.SeasonClosed && se.State != store.SeasonClosed {
				// Closing settles the season; it must not be skipped.
				return &store.Error{Code: store.ECONFLICT, Field: "body.state",
					Message: "结束农时须结算，请用 close-season closing a season settles it: POST /v1/seasons/{id}/close"}
			}
			set(&se.State, b.State)
			return nil
		})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return seasonOutput(se), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "close-season", Method: http.MethodPost, Path: "/v1/seasons/{id}/close",
		Summary: "结束农时并结算 Close and settle a season", Tags: []string{"seasons"}, Security: secured(store.RoleCadre),
		Description: "一次完成：出统计、出公示、关闭农时，余额结转或清零。 All or nothing: the season report and the public " +
			"notice are written, the season is closed, and balances are carried over (the village's default) or zeroed " +
			"by an opening transaction per household. The calendar does this on the season's end date; a season " +
			"that is not open is 409; one changed by someone else during the settlement is 412 and nothing is written.",
		Errors: []int{400, 401, 403, 404, 409, 412, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		Body struct {
			Policy string `json:"policy,omitempty" enum:"carry,zero" example:"carry" doc:"carry: balances go on into the next season; zero: opening transactions bring them to zero; absent: the village's policy 结转或清零"`
		}
	}) (*struct{ Body SeasonReport }, error) {
		p := caller(ctx)
		out, err := s.store.SettleSeason(ctx, p.VillageID, in.ID, p.String(), in.Body.Policy)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		rep := *out.Report
		rep.Season = out.Season // the report was taken before the season closed
		return &struct{ Body SeasonReport }{Body: reportOf(&rep)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-season-report", Method: http.MethodGet, Path: "/v1/seasons/{id}/report",
		Summary: "农时办结统计 A season's closed-loop figures", Tags: []string{"seasons"}, Security: secured(store.RoleCadre),
		Description: "收到求助、办结、按期办结、办结率、平均响应时间、平均评分、换工工日。 Requests received, scheduled, done, done on time, cancelled; completion rate; mean and 90th-percentile " +
			"response time (submitted → first confirmed job); mean feedback; workdays exchanged per team and in all; " +
			"households below the soft limit. Measured from the recorded transitions, not estimated.",
		Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *IDPath) (*struct{ Body SeasonReport }, error) {
		r, err := s.store.SeasonReport(ctx, caller(ctx).VillageID, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body SeasonReport }{Body: reportOf(r)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-norms", Method: http.MethodGet, Path: "/v1/norms",
		Summary: "用工定额 Labor norms", Tags: []string{"norms"},
		Description: "每亩工日；求助工日按面积×定额估算，向上取半天。 Workdays per mu for every crop and task; a request's workdays are estimated as area × norm, rounded up " +
			"to the half day. Defaults: prepare 0.5, transplant 1.5, harvest 2.0.",
		Security: secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold), Errors: []int{401, 403, 422},
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body NormsBody }, error) {
		ns, err := s.store.Norms(ctx, caller(ctx).VillageID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return normsOutput(ns), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-norms", Method: http.MethodPatch, Path: "/v1/norms",
		Summary: "修改用工定额 Change labor norms", Tags: []string{"norms"}, Security: secured(store.RoleCadre),
		Description: "只改所列各项；已登记的求助不变。 Sets the listed crop and task pairs; the others stay. Requests already registered keep their workdays. " +
			"Answers with every norm.",
		Errors: []int{400, 401, 403, 413, 415, 422},
	}, func(ctx context.Context, in *struct{ Body NormsBody }) (*struct{ Body NormsBody }, error) {
		norms := make([]store.Norm, len(in.Body.Norms))
		for i, n := range in.Body.Norms {
			c, err := hundredths(n.WorkdaysPerMu, fmt.Sprintf("body.norms[%d].workdaysPerMu", i))
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			norms[i] = store.Norm{Crop: n.Crop, Task: n.Task, CentiPerMu: c}
		}
		ns, err := s.store.SetNorms(ctx, caller(ctx).VillageID, norms)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return normsOutput(ns), nil
	})
}
