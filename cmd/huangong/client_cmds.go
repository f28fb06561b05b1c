package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	apiclient "huangong/api/client"
)

// The team leaders' client commands. They speak to a server only through
// the generated client in api/client, and show what it answers as tables
// with Chinese and English headings, or as the API's JSON with --json.

var (
	roleNames     = map[string]string{"cadre": "村干部 cadre", "leader": "队长 leader", "household": "农户 household"}
	taskNames     = map[string]string{"prepare": "整地 prepare", "transplant": "插秧 transplant", "harvest": "收割 harvest"}
	jobStateNames = map[string]string{"scheduled": "已派工 scheduled", "confirmed": "已确认 confirmed",
		"declined": "已拒绝 declined", "done": "已完工 done", "cancelled": "已取消 cancelled"}
	requestStateNames = map[string]string{"submitted": "已登记 submitted", "scheduled": "已派工 scheduled",
		"confirmed": "已确认 confirmed", "done": "已完成 done", "closed": "已关闭 closed", "cancelled": "已撤销 cancelled"}
	decided     = map[string]string{"confirmed": "已确认", "declined": "已拒绝"}
	txKindNames = map[string]string{"job": "派工 job", "transfer": "转账 transfer", "donation": "捐赠 donation",
		"reversal": "冲正 reversal", "opening": "期初 opening"}
)

func named(names map[string]string, key string) string {
	if n, ok := names[key]; ok {
		return n
	}
	return key
}

// num shows workdays as the API sends them: 1.5, 2, -0.5.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func parseID(what, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageErrorf("%s须为正整数 %s must be a positive number, not %q", what, what, s)
	}
	return id, nil
}

// oneID is the single positional ID a command takes.
func oneID(cmd, what string, pos []string) (int64, error) {
	if len(pos) != 1 {
		return 0, usageErrorf("用法 usage: huangong %s %s", cmd, strings.ToUpper(what))
	}
	return parseID(what, pos[0])
}

// date reads a date flag: today, tomorrow or YYYY-MM-DD; today is the
// village's, not the machine's.
func (c *conn) date(ctx context.Context, flagName, v string) (*openapi_types.Date, error) {
	if v == "" {
		return nil, nil
	}
	var t time.Time
	switch v {
	case "today", "tomorrow":
		loc, err := c.location(ctx)
		if err != nil {
			return nil, err
		}
		t = clientNow().In(loc)
		if v == "tomorrow" {
			t = t.AddDate(0, 0, 1)
		}
		t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	default:
		var err error
		if t, err = time.Parse(time.DateOnly, v); err != nil {
			return nil, usageErrorf("--%s: 日期应为 today、tomorrow 或 2026-04-20 want today, tomorrow or a date like 2026-04-20, not %q", flagName, v)
		}
	}
	return &openapi_types.Date{Time: t}, nil
}

// localTime shows an instant in the village's timezone.
func (c *conn) localTime(ctx context.Context, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	loc, err := c.location(ctx)
	if err != nil {
		loc = time.Local
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

// listPage is one page of a list operation, with the raw items kept for --json.
type listPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor"`
}

// listAll follows a list's cursor to the end. raw is the API's JSON: the
// one page as it came, or the pages' items together under "items".
func listAll[T any](c *conn, fetch func(cursor *string) (*http.Response, error)) ([]T, []byte, error) {
	var items []T
	var rawItems []json.RawMessage
	var first []byte
	var cursor *string
	for pages := 0; ; pages++ {
		resp, err := fetch(cursor)
		page, raw, err := call[listPage[T]](c, resp, err)
		if err != nil {
			return nil, nil, err
		}
		var rawPage listPage[json.RawMessage]
		if err := json.Unmarshal(raw, &rawPage); err != nil {
			return nil, nil, err
		}
		items, rawItems = append(items, page.Items...), append(rawItems, rawPage.Items...)
		if pages == 0 {
			first = raw
		}
		if page.NextCursor == "" {
			if pages == 0 {
				return items, first, nil
			}
			if rawItems == nil {
				rawItems = []json.RawMessage{}
			}
			all, err := json.Marshal(map[string]any{"items": rawItems})
			return items, all, err
		}
		next := page.NextCursor
		cursor = &next
	}
}

var pageLimit = int64(200)

// nonZero is p, or nil when *p is its type's zero value: a flag left
// unset is a parameter not sent.
func nonZero[T comparable](p *T) *T {
	var zero T
	if *p == zero {
		return nil
	}
	return p
}

// enumOf is a flag's value as one of the API's enum types, or nil if unset.
func enumOf[E ~string](v string) *E {
	if v == "" {
		return nil
	}
	e := E(v)
	return &e
}

// printList shows a list: the API's JSON, a line saying there is nothing,
// or the table.
func (c *conn) printList(raw []byte, n int, none string, t func() *table) error {
	switch {
	case c.json:
		return c.printJSON(raw)
	case n == 0:
		_, err := fmt.Fprintln(c.out, none)
		return err
	}
	return t().write(c.out)
}

// loginCmd checks a token against the server and saves both for the
// client commands (mode 0600).
func loginCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("login")
	if err := f.parseNone(args, stdout); err != nil {
		return err
	}
	server := normalizeServer(firstOf(*f.server, env("HUANGONG_SERVER", "")))
	token := firstOf(*f.token, env("HUANGONG_TOKEN", ""))
	if server == "" || token == "" {
		return usageErrorf("用法 usage: huangong login --server URL --token T")
	}
	c, err := newConn(server, token, *f.json, stdout, stderr)
	if err != nil {
		return err
	}
	resp, err := c.api.GetMe(ctx)
	me, raw, err := call[apiclient.Me](c, resp, err)
	if err != nil {
		return err
	}
	path, err := configPath()
	if err != nil {
		return err
	}
	if err := writeConfig(path, clientConfig{Server: server, Token: token}); err != nil {
		return fmt.Errorf("保存登录失败 cannot save the login: %w", err)
	}
	if c.json {
		return c.printJSON(raw)
	}
	who := named(roleNames, string(me.Role))
	switch {
	case me.TeamName != nil:
		who += fmt.Sprintf(" · %s (team %d)", *me.TeamName, *me.TeamId)
	case me.HeadName != nil:
		who += fmt.Sprintf(" · %s户 (household %d)", *me.HeadName, *me.HouseholdId)
	}
	v := me.Village
	fmt.Fprintf(stdout, "已登录 logged in: %s（%s%s） %s\n", v.Name, v.County, v.Township, who)
	fmt.Fprintf(stdout, "服务器 server %s；登录信息已保存 saved to %s\n", server, path)
	return nil
}

func jobsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErrorf("用法 usage: huangong jobs list|today|confirm|decline|complete|watch …")
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		_, err := io.WriteString(stdout, usage)
		return err
	}
	switch sub, args := args[0], args[1:]; sub {
	case "list":
		return jobsList(ctx, args, stdout, stderr)
	case "today":
		return jobsToday(ctx, args, stdout, stderr)
	case "confirm", "decline":
		return jobsDecide(ctx, sub, args, stdout, stderr)
	case "complete":
		return jobsComplete(ctx, args, stdout, stderr)
	case "watch":
		return jobsWatch(ctx, args, stdout, stderr)
	default:
		return usageErrorf("未知命令 unknown command jobs %s; one of list, today, confirm, decline, complete, watch", sub)
	}
}

// jobsList lists the caller's jobs. With no filter it shows what is still
// to do from today on in the village (scheduled or confirmed), the list a
// leader looks at before work, and says how many earlier jobs are still
// open; --all, --date, --from, --to, --state and --request show the rest.
func jobsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("jobs list")
	all := f.fs.Bool("all", false, "全部派工 every job, whatever its date and state (default: from today on, not yet done)")
	open := f.fs.Bool("open", false, "只看待办 only jobs still to do: scheduled or confirmed")
	date := f.fs.String("date", "", "某一天 one day: today, tomorrow or YYYY-MM-DD (the village's)")
	from := f.fs.String("from", "", "起始日期 first day: today, tomorrow or YYYY-MM-DD")
	to := f.fs.String("to", "", "截止日期 last day: today, tomorrow or YYYY-MM-DD")
	state := f.fs.String("state", "", "状态 only this state: scheduled, confirmed, declined, done, cancelled")
	request := f.fs.Int64("request", 0, "只看某求助 only this help request's jobs")
	c, err := f.open(args, stdout, stderr)
	if err != nil {
		return err
	}
	params := &apiclient.ListJobsParams{Limit: &pageLimit}
	if params.Date, err = c.date(ctx, "date", *date); err != nil {
		return err
	}
	if params.From, err = c.date(ctx, "from", *from); err != nil {
		return err
	}
	if params.To, err = c.date(ctx, "to", *to); err != nil {
		return err
	}
	params.State, params.Request, params.Open = enumOf[apiclient.ListJobsParamsState](*state), nonZero(request), nonZero(open)
	// The default: nothing asked for but what is left to do from today on.
	byDefault := !*all && params.Date == nil && params.From == nil && params.To == nil && params.State == nil &&
		params.Request == nil && params.Open == nil
	var today *openapi_types.Date
	if byDefault {
		if today, err = c.date(ctx, "date", "today"); err != nil {
			return err
		}
		yes := true
		params.From, params.Open = today, &yes
	}
	jobs, raw, err := c.listJobs(ctx, params)
	if err != nil {
		return err
	}
	showTeam, err := c.showTeam(ctx)
	if err != nil {
		return err
	}
	if !byDefault || c.json {
		return c.printList(raw, len(jobs), "没有派工 no jobs", func() *table { return jobTable(showTeam, jobs...) })
	}
	if len(jobs) == 0 {
		fmt.Fprintf(stdout, "今天（%s）起没有待办的派工 no jobs to do from today (%s) on; every job: huangong jobs list --all\n", today, today)
	} else {
		fmt.Fprintf(stdout, "今天（%s）起待办的派工 jobs to do from today (%s) on; every job: --all\n", today, today)
		if err := jobTable(showTeam, jobs...).write(stdout); err != nil {
			return err
		}
	}
	// A job left open before today is work not yet recorded, or a day
	// missed: the leader hears of it here rather than from the cadre.
	yesterday := &openapi_types.Date{Time: today.AddDate(0, 0, -1)}
	yes := true
	earlier, _, err := c.listJobs(ctx, &apiclient.ListJobsParams{Limit: &pageLimit, To: yesterday, Open: &yes})
	if err != nil {
		return err
	}
	if len(earlier) > 0 {
		fmt.Fprintf(stdout, "另有 %d 个之前的派工还没完工记工 %d earlier jobs are not done yet: huangong jobs list --to %s --open\n",
			len(earlier), len(earlier), yesterday)
	}
	return nil
}

// listJobs reads every page of list-jobs.
func (c *conn) listJobs(ctx context.Context, params *apiclient.ListJobsParams) ([]apiclient.Job, []byte, error) {
	return listAll[apiclient.Job](c, func(cursor *string) (*http.Response, error) {
		params.Cursor = cursor
		return c.api.ListJobs(ctx, params)
	})
}

// showTeam is whether job tables need a team column: not for a leader,
// whose jobs are all its one team's.
func (c *conn) showTeam(ctx context.Context) (bool, error) {
	if c.json {
		return true, nil
	}
	me, err := c.me(ctx)
	if err != nil {
		return false, err
	}
	return me.Role != apiclient.MeRoleLeader, nil
}

// jobTable shows jobs by the names a person uses: the household helped,
// the field, the workers; the IDs are there to type in commands.
func jobTable(showTeam bool, jobs ...apiclient.Job) *table {
	head := []string{"编号 ID", "日期 Date"}
	if showTeam {
		head = append(head, "队 Team")
	}
	t := newTable(append(head, "农活 Task", "受助户 Household", "田块 Field", "计划出工 Planned", "记工 Worked", "状态 State")...)
	for _, j := range jobs {
		date := j.Date.String()
		if j.Late {
			date += " 超期 late"
		}
		var worked []string
		if j.Attendance != nil {
			for _, a := range *j.Attendance {
				worked = append(worked, fmt.Sprintf("%s=%s", headOr(a.HeadName, a.HouseholdId), num(a.Workdays)))
			}
		}
		state := named(jobStateNames, string(j.State))
		if j.Meal {
			state += " 管饭 meal"
		}
		cells := []string{itoa64(j.Id), date}
		if showTeam {
			cells = append(cells, firstOf(j.TeamName, itoa64(j.TeamId)))
		}
		t.add(append(cells, named(taskNames, string(j.Task)), householdLabel(j.HeadName, j.HouseholdId),
			fieldLabel(j.FieldName, j.FieldId, j.FieldArea), workersText(j), strings.Join(worked, " "), state)...)
	}
	return t
}

// printOne shows one record after a change: a line saying what happened
// and the record, or the API's JSON.
func (c *conn) printOne(raw []byte, t func() *table, format string, args ...any) error {
	if c.json {
		return c.printJSON(raw)
	}
	fmt.Fprintf(c.out, format+"\n", args...)
	return t().write(c.out)
}

// jobRow is one job's table, with the team column when the caller may
// see more than one team.
func (c *conn) jobRow(ctx context.Context, j *apiclient.Job) func() *table {
	return func() *table {
		showTeam, err := c.showTeam(ctx)
		return jobTable(showTeam || err != nil, *j)
	}
}

// jobsDecide confirms or declines a job. Run again on a job already in that
// state, it shows the job as it is and succeeds, as a retry would.
func jobsDecide(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("jobs " + verb)
	reason := f.fs.String("reason", "", "拒绝原因 why the team turns the job down (decline; required)")
	pos, err := f.parse(args, stdout)
	if err != nil {
		return err
	}
	id, err := oneID("jobs "+verb, "ID", pos)
	if err != nil {
		return err
	}
	if verb == "decline" && strings.TrimSpace(*reason) == "" {
		return usageErrorf("拒绝须说明原因 jobs decline needs --reason \"…\"")
	}
	c, err := f.connect(stdout, stderr)
	if err != nil {
		return err
	}
	var resp *http.Response
	want := "confirmed"
	if verb == "confirm" {
		resp, err = c.api.ConfirmJob(ctx, id)
	} else {
		want = "declined"
		resp, err = c.api.DeclineJob(ctx, id, apiclient.DeclineJobJSONRequestBody{Reason: *reason})
	}
	j, raw, err := call[apiclient.Job](c, resp, err)
	if err != nil {
		if j, raw, err = c.refusedJob(ctx, id, verb, want, err); err != nil {
			return err
		}
	}
	return c.printOne(raw, c.jobRow(ctx, j), "派工 %d %s job %d %s", j.Id, decided[want], j.Id, want)
}

// refusedJob reads the job a command's change was refused on (409). One
// already in the wanted state is the command's effect, whoever made it:
// that job, and success. Any other is the refusal, with the command for
// the server's next step where there is one (see jobCommand).
func (c *conn) refusedJob(ctx context.Context, id int64, verb, want string, err error) (*apiclient.Job, []byte, error) {
	if !conflict(err) {
		return nil, nil, err
	}
	resp, gerr := c.api.GetJob(ctx, id)
	j, raw, gerr := call[apiclient.Job](c, resp, gerr)
	if gerr != nil {
		return nil, nil, err
	}
	if want != "" && string(j.State) == want {
		fmt.Fprintf(c.errOut, "注意 note: 派工 %d 之前已%s job %d was already %s\n", id, decided[want][len("已"):], id, want)
		return j, raw, nil
	}
	if cmd := jobCommand(verb, j); cmd != "" {
		err = &nextStepError{err: err, cmd: cmd}
	}
	return nil, nil, err
}

// workedFlag collects --worked HOUSEHOLD=WORKDAYS.
type workedFlag []string

func (w *workedFlag) String() string     { return strings.Join(*w, " ") }
func (w *workedFlag) Set(v string) error { *w = append(*w, v); return nil }

// attendanceOf reads WHO=WORKDAYS pairs: a household (see householdRefs)
// and workdays in half-day steps, more than 0 and at most 20.
func attendanceOf(flagName string, values []string, helper bool, who *householdRefs) ([]apiclient.JobAttendance, error) {
	var out []apiclient.JobAttendance
	for _, v := range values {
		hh, wd, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(hh) == "" {
			return nil, usageErrorf("--%s %s: 应为 户主或农户编号=工日 want HOUSEHOLD=WORKDAYS, like 12=1.5 or 徐冬生=1.5", flagName, v)
		}
		days, err := strconv.ParseFloat(strings.TrimSpace(wd), 64)
		if err != nil || days <= 0 || days > 20 || days*2 != float64(int64(days*2)) {
			return nil, usageErrorf("--%s %s: 工日须为0.5的倍数，大于0且不超过20 workdays must be 0.5, 1, 1.5 … up to 20", flagName, v)
		}
		id, err := who.resolve(flagName, v, hh, !helper)
		if err != nil {
			return nil, err
		}
		a := apiclient.JobAttendance{HouseholdId: id, Workdays: days}
		if helper {
			yes := true
			a.Helper = &yes
		}
		out = append(out, a)
	}
	return out, nil
}

// withReasons puts each --reason WHO=TEXT on that household's line.
func withReasons(att []apiclient.JobAttendance, reasons []string, who *householdRefs) error {
	for _, v := range reasons {
		hh, text, ok := strings.Cut(v, "=")
		text = strings.TrimSpace(text)
		if !ok || strings.TrimSpace(hh) == "" || text == "" {
			return usageErrorf("--reason %s: 应为 户主或农户编号=原因 want HOUSEHOLD=TEXT, like 12=亲戚来帮忙", v)
		}
		id, err := who.resolve("reason", v, hh, true)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(att, func(a apiclient.JobAttendance) bool { return a.HouseholdId == id })
		if i < 0 {
			return usageErrorf("--reason %s: 农户 %d 没有记出工 household %d has no --worked or --helper line", v, id, id)
		}
		att[i].Reason = &text
	}
	return nil
}

// completeKey is the Idempotency-Key of a completion: the same job and the
// same attendance give the same key, so running `jobs complete` twice
// replays the first answer instead of posting the workdays again, and a
// retry after a lost answer is recognised too.
func completeKey(jobID int64, body apiclient.CompleteJobJSONRequestBody) (string, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "complete-job %d %s", jobID, raw))
	return fmt.Sprintf("hg-complete-%d-%s", jobID, hex.EncodeToString(sum[:12])), nil
}

func jobsComplete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("jobs complete")
	var worked, helpers, reasons workedFlag
	f.fs.Var(&worked, "worked", "出工 HOUSEHOLD=WORKDAYS, a member household (its number or its head's name) and its workdays (repeat for each)")
	f.fs.Var(&helpers, "helper", "帮工 HOUSEHOLD=WORKDAYS, a named helper from outside the team, by household number (repeat)")
	f.fs.Var(&reasons, "reason", "原因 HOUSEHOLD=TEXT, why a household the job did not plan worked (needed for each helper; repeat)")
	meal := f.fs.Bool("meal", false, "受助户管饭 the household hosted a meal")
	pos, err := f.parse(args, stdout)
	if err != nil {
		return err
	}
	id, err := oneID("jobs complete", "ID", pos)
	if err != nil {
		return err
	}
	if len(worked)+len(helpers) == 0 {
		return usageErrorf("请记录出工 jobs complete needs --worked HOUSEHOLD=WORKDAYS for each household that worked")
	}
	// A name is looked up among the job's team only when one is given: a
	// line of numbers is checked before anything is sent.
	var c *conn
	who := &householdRefs{ctx: ctx, job: id, connect: func() (*conn, error) {
		if c != nil {
			return c, nil
		}
		var err error
		c, err = f.connect(stdout, stderr)
		return c, err
	}}
	att, err := attendanceOf("worked", worked, false, who)
	if err != nil {
		return err
	}
	extra, err := attendanceOf("helper", helpers, true, who)
	if err != nil {
		return err
	}
	att = append(att, extra...)
	if err := withReasons(att, reasons, who); err != nil {
		return err
	}
	// One order for the same attendance, so the body and its key are the
	// same however the flags were typed.
	slices.SortFunc(att, func(a, b apiclient.JobAttendance) int { return int(a.HouseholdId - b.HouseholdId) })
	for i := 1; i < len(att); i++ {
		if att[i].HouseholdId == att[i-1].HouseholdId {
			return usageErrorf("农户 %d 记了两次 household %d is listed twice", att[i].HouseholdId, att[i].HouseholdId)
		}
	}
	body := apiclient.CompleteJobJSONRequestBody{Attendance: &att}
	body.Meal = nonZero(meal)
	key, err := completeKey(id, body)
	if err != nil {
		return err
	}
	if c, err = who.connect(); err != nil {
		return err
	}
	resp, err := c.api.CompleteJob(ctx, id, &apiclient.CompleteJobParams{IdempotencyKey: &key}, body)
	again := replayed(resp, err)
	j, raw, err := call[apiclient.Job](c, resp, err)
	if err != nil {
		_, _, err = c.refusedJob(ctx, id, "complete", "", err)
		return err
	}
	var total float64
	for _, a := range att {
		total += a.Workdays
	}
	tx := "?"
	if j.TransactionId != nil {
		tx = itoa64(*j.TransactionId)
	}
	if err := c.printOne(raw, c.jobRow(ctx, j), "派工 %d 已完工，记账 %s，共 %s 个工日 job %d done: transaction %s, %s workdays",
		j.Id, tx, num(total), j.Id, tx, num(total)); err != nil {
		return err
	}
	if again {
		fmt.Fprintln(stderr, "注意 note: 这次完工之前已记过账，以上是当时的结果，没有重复记账 "+
			"this completion was already recorded; that is its answer, nothing was posted twice")
	}
	return nil
}

// eventReconnect is the wait before a watch reconnects after the stream
// ended (the server restarted, the network dropped).
var eventReconnect = 2 * time.Second

// jobsWatch follows /v1/events: each notification for the token's team
// (or household, or village) as one line, until interrupted. A dropped
// stream is resumed after the last event seen, so none is missed.
func jobsWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("jobs watch")
	after := f.fs.Int64("after", 0, "从此编号之后 resume after this event ID (default: only new events)")
	c, err := f.open(args, stdout, stderr)
	if err != nil {
		return err
	}
	if !c.json {
		if _, err := c.location(ctx); err != nil { // also checks the token before the stream opens
			return err
		}
	}
	last, connected := *after, false
	for {
		params := &apiclient.StreamEventsParams{}
		if last > 0 {
			params.LastEventID = &last
		}
		resp, err := c.api.StreamEvents(ctx, params)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil || resp.StatusCode != http.StatusOK {
			_, _, err = call[struct{}](c, resp, err)
			if !connected || refused(err) {
				return err
			}
			fmt.Fprintf(stderr, "连接中断，%s后重连 stream lost, reconnecting in %s: %s\n", eventReconnect, eventReconnect, oneLine(err))
		} else {
			if !connected {
				fmt.Fprintln(stderr, "正在接收通知（Ctrl-C 结束） watching events (Ctrl-C to stop)")
			}
			connected = true
			last = c.readEvents(ctx, resp.Body, last)
			resp.Body.Close()
			if ctx.Err() != nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(eventReconnect):
		}
	}
}

// refused is an answer that a reconnect would only repeat: a 4xx (a token
// revoked, a team gone), but not 408 or 429, which ask to come back later.
// A dropped network and a 5xx are worth waiting out.
func refused(err error) bool {
	var pe *problemError
	return errors.As(err, &pe) && pe.Status >= 400 && pe.Status < 500 &&
		pe.Status != http.StatusRequestTimeout && pe.Status != http.StatusTooManyRequests
}

// readEvents prints the stream's messages until it ends and returns the
// last event ID seen.
func (c *conn) readEvents(ctx context.Context, body io.Reader, last int64) int64 {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var event, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event == "message" || event == "" && data != "" {
				last = max(last, c.printEvent(ctx, data))
			}
			event, data = "", ""
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
		}
	}
	return last
}

func (c *conn) printEvent(ctx context.Context, data string) int64 {
	var e apiclient.Event
	if err := json.Unmarshal([]byte(data), &e); err != nil {
		fmt.Fprintf(c.errOut, "无法解析的通知 an event that does not parse: %s\n", oneLine(err))
		return 0
	}
	if c.json {
		fmt.Fprintln(c.out, data)
		return e.Id
	}
	subject := e.Subject
	switch e.Subject {
	case "job":
		subject = "派工 job"
	case "request":
		subject = "求助 request"
	}
	fmt.Fprintf(c.out, "%s  %s  %s %d  %s\n", c.localTime(ctx, e.CreatedAt), e.Event, subject, e.SubjectId, e.Message)
	return e.Id
}

func requestsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErrorf("用法 usage: huangong requests list|create|update|cancel …")
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		_, err := io.WriteString(stdout, usage)
		return err
	}
	switch sub, args := args[0], args[1:]; sub {
	case "list":
		return requestsList(ctx, args, stdout, stderr)
	case "create":
		return requestsCreate(ctx, args, stdout, stderr)
	case "update":
		return requestsUpdate(ctx, args, stdout, stderr)
	case "cancel":
		return requestsCancel(ctx, args, stdout, stderr)
	default:
		return usageErrorf("未知命令 unknown command requests %s; one of list, create, update, cancel", sub)
	}
}

func (c *conn) requestTable(ctx context.Context, rs ...apiclient.HelpRequest) *table {
	t := newTable("编号 ID", "农户 Household", "田块 Field", "农活 Task", "时段 Window", "工日 Workdays", "人数上限 Crew cap",
		"优先 Priority", "状态 State", "登记 Submitted")
	for _, r := range rs {
		state := named(requestStateNames, string(r.State))
		if r.Overdue {
			state += " 超期 overdue"
		}
		if r.UnplacedReason != nil {
			state += " 暂未排上：" + *r.UnplacedReason
		}
		crew := itoa64(r.CrewCap) + " 默认 default"
		if r.CrewCapSet {
			crew = itoa64(r.CrewCap) + " 设定 set"
		}
		t.add(itoa64(r.Id), householdLabel(r.HeadName, r.HouseholdId), fieldLabel(r.FieldName, r.FieldId, r.FieldArea), named(taskNames, string(r.Task)),
			r.Earliest.String()+".."+r.Latest.String(), num(r.Workdays), crew, itoa64(r.Priority), state, c.localTime(ctx, r.SubmittedAt))
	}
	return t
}

func requestsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("requests list")
	state := f.fs.String("state", "", "状态 only this state: submitted, scheduled, confirmed, done, closed, cancelled")
	task := f.fs.String("task", "", "农活 only this task: prepare, transplant, harvest")
	season := f.fs.Int64("season", 0, "农时 only this season")
	household := f.fs.Int64("household", 0, "农户 only this household's")
	overdue := f.fs.Bool("overdue", false, "只看超期未办结 only open requests past their due date")
	c, err := f.open(args, stdout, stderr)
	if err != nil {
		return err
	}
	params := &apiclient.ListRequestsParams{Limit: &pageLimit,
		State: enumOf[apiclient.ListRequestsParamsState](*state), Task: enumOf[apiclient.ListRequestsParamsTask](*task),
		Season: nonZero(season), Household: nonZero(household), Overdue: nonZero(overdue)}
	rs, raw, err := listAll[apiclient.HelpRequest](c, func(cursor *string) (*http.Response, error) {
		params.Cursor = cursor
		return c.api.ListRequests(ctx, params)
	})
	if err != nil {
		return err
	}
	return c.printList(raw, len(rs), "没有求助 no help requests", func() *table { return c.requestTable(ctx, rs...) })
}

func requestsCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("requests create")
	household := f.fs.Int64("household", 0, "求助农户 the household asking (a cadre's token must name it)")
	field := f.fs.Int64("field", 0, "田块 one of the household's fields (required)")
	task := f.fs.String("task", "", "农活 prepare, transplant or harvest (required)")
	earliest := f.fs.String("earliest", "", "最早日期 first day help may come: today or YYYY-MM-DD (required)")
	latest := f.fs.String("latest", "", "最晚日期 due date, YYYY-MM-DD (required)")
	workdays := f.fs.Float64("workdays", 0, "所需工日 workdays needed (cadre; default: estimated from the field)")
	note := f.fs.String("note", "", "备注 note")
	if err := f.parseNone(args, stdout); err != nil {
		return err
	}
	if *field == 0 || *task == "" || *earliest == "" || *latest == "" {
		return usageErrorf("用法 usage: huangong requests create --field ID --task T --earliest D --latest D [--household ID]")
	}
	c, err := f.connect(stdout, stderr)
	if err != nil {
		return err
	}
	body := apiclient.CreateRequestJSONRequestBody{FieldId: *field, Task: apiclient.RequestInputTask(*task)}
	for _, d := range []struct {
		name, v string
		to      *openapi_types.Date
	}{{"earliest", *earliest, &body.Earliest}, {"latest", *latest, &body.Latest}} {
		date, err := c.date(ctx, d.name, d.v)
		if err != nil {
			return err
		}
		*d.to = *date
	}
	body.HouseholdId, body.Workdays, body.Note = nonZero(household), nonZero(workdays), nonZero(note)
	resp, err := c.api.CreateRequest(ctx, &apiclient.CreateRequestParams{IdempotencyKey: &c.key}, body)
	again := replayed(resp, err)
	r, raw, err := call[apiclient.HelpRequest](c, resp, err)
	if conflict(err) {
		list := "huangong requests list --task " + *task
		if *household != 0 {
			list += " --household " + itoa64(*household)
		}
		return &nextStepError{err: err, cmd: list}
	}
	if err != nil {
		return err
	}
	return c.printRequest(ctx, raw, r, again, "求助 %d 已登记 request %d submitted")
}

// replayed reports an answer the server gave from an earlier try of the
// same call (a retry after a lost answer), not from this one.
func replayed(resp *http.Response, err error) bool {
	return err == nil && resp.Header.Get("Idempotent-Replayed") == "true"
}

// printRequest shows a request after a change, format naming its ID twice,
// with a note when the answer is an earlier try's.
func (c *conn) printRequest(ctx context.Context, raw []byte, r *apiclient.HelpRequest, again bool, format string) error {
	if err := c.printOne(raw, func() *table { return c.requestTable(ctx, *r) }, format, r.Id, r.Id); err != nil {
		return err
	}
	if again {
		fmt.Fprintln(c.errOut, "注意 note: 服务器已收到之前的一次尝试，以上是当时的结果，没有重复办理 "+
			"an earlier try reached the server; that is its answer, nothing was done twice")
	}
	return nil
}

func requestsCancel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("requests cancel")
	reason := f.fs.String("reason", "", "撤销原因 why (required)")
	pos, err := f.parse(args, stdout)
	if err != nil {
		return err
	}
	id, err := oneID("requests cancel", "ID", pos)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return usageErrorf("撤销须说明原因 requests cancel needs --reason \"…\"")
	}
	c, err := f.connect(stdout, stderr)
	if err != nil {
		return err
	}
	resp, err := c.api.CancelRequest(ctx, id, &apiclient.CancelRequestParams{IdempotencyKey: &c.key},
		apiclient.CancelRequestJSONRequestBody{Reason: *reason})
	again := replayed(resp, err)
	r, raw, err := call[apiclient.HelpRequest](c, resp, err)
	if err != nil {
		if r, raw, err = c.alreadyCancelled(ctx, id, err); err != nil {
			return err
		}
	}
	return c.printRequest(ctx, raw, r, again, "求助 %d 已撤销 request %d cancelled")
}

// requestsUpdate changes an open request's crew cap (a number, or
// "default" for the one from the field's area) or its workdays.
func requestsUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("requests update")
	crew := f.fs.String("crew-cap", "", "每天人数上限 most people on the field a day, 1..50, or default (from the field's area)")
	workdays := f.fs.Float64("workdays", 0, "所需工日 workdays needed, in half-day steps")
	pos, err := f.parse(args, stdout)
	if err != nil {
		return err
	}
	id, err := oneID("requests update", "ID", pos)
	if err != nil {
		return err
	}
	body := map[string]any{}
	switch *crew {
	case "":
	case "default":
		body["crewCap"] = nil // JSON null: back to the default
	default:
		n, err := strconv.Atoi(*crew)
		if err != nil {
			return usageErrorf("--crew-cap 须为1到50的整数或 default: --crew-cap is a number from 1 to 50 or default, not %q", *crew)
		}
		body["crewCap"] = n
	}
	if *workdays != 0 {
		body["workdays"] = *workdays
	}
	if len(body) == 0 {
		return usageErrorf("用法 usage: huangong requests update ID --crew-cap N|default [--workdays W]")
	}
	c, err := f.connect(stdout, stderr)
	if err != nil {
		return err
	}
	// The generated body type cannot send null (it drops a nil crewCap),
	// so the body is sent as JSON made here.
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := c.api.UpdateRequestWithBody(ctx, id, &apiclient.UpdateRequestParams{}, "application/json", bytes.NewReader(raw))
	r, out, err := call[apiclient.HelpRequest](c, resp, err)
	if conflict(err) {
		return &nextStepError{err: err, cmd: c.registerAgain(ctx, id)}
	}
	if err != nil {
		return err
	}
	return c.printRequest(ctx, out, r, false, "求助 %d 已修改 request %d updated")
}

// registerAgain is the command that registers request id's help anew,
// its household, field and task filled in when the request can be read.
func (c *conn) registerAgain(ctx context.Context, id int64) string {
	resp, err := c.api.GetRequest(ctx, id)
	if r, _, err := call[apiclient.HelpRequest](c, resp, err); err == nil {
		return fmt.Sprintf("huangong requests create --household %d --field %d --task %s --earliest today --latest YYYY-MM-DD",
			r.HouseholdId, r.FieldId, r.Task)
	}
	return "huangong requests create --household H --field F --task T --earliest today --latest YYYY-MM-DD"
}

// alreadyCancelled turns a 409 on a request that this token already
// cancelled into that request, as refusedJob does for a job: the command
// was run twice. A request someone else cancelled stays a 409: this
// caller's reason was not recorded.
func (c *conn) alreadyCancelled(ctx context.Context, id int64, err error) (*apiclient.HelpRequest, []byte, error) {
	if !conflict(err) {
		return nil, nil, err
	}
	resp, gerr := c.api.GetRequest(ctx, id)
	r, raw, gerr := call[apiclient.HelpRequest](c, resp, gerr)
	if gerr != nil || r.State != apiclient.HelpRequestStateCancelled || r.Transitions == nil {
		return nil, nil, err
	}
	resp, gerr = c.api.GetMe(ctx)
	me, _, gerr := call[apiclient.Me](c, resp, gerr)
	if gerr != nil {
		return nil, nil, err
	}
	var by string
	for _, t := range *r.Transitions {
		if t.To == string(apiclient.HelpRequestStateCancelled) {
			by = t.Actor
		}
	}
	if by != me.Actor {
		return nil, nil, err
	}
	fmt.Fprintf(c.errOut, "注意 note: 求助 %d 之前已撤销 request %d was already cancelled\n", id, id)
	return r, raw, nil
}

// balanceCmd shows workday balances: a cadre's whole village, a leader's
// team members, a household its own; or one household's.
func balanceCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("balance")
	below := f.fs.Bool("below-limit", false, "只看低于提醒线的户 only households below the soft limit")
	sort := f.fs.String("sort", "", "排序 household, balance (lowest first) or -balance")
	pos, err := f.parse(args, stdout)
	if err != nil {
		return err
	}
	params := &apiclient.ListBalancesParams{}
	switch len(pos) {
	case 0:
	case 1:
		id, err := parseID("HOUSEHOLD", pos[0])
		if err != nil {
			return err
		}
		params.Household = &id
	default:
		return usageErrorf("用法 usage: huangong balance [HOUSEHOLD]")
	}
	params.BelowLimit, params.Sort = nonZero(below), enumOf[apiclient.ListBalancesParamsSort](*sort)
	c, err := f.connect(stdout, stderr)
	if err != nil {
		return err
	}
	resp, err := c.api.ListBalances(ctx, params)
	b, raw, err := call[apiclient.BalancesBody](c, resp, err)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(raw)
	}
	t := newTable("户号 Household", "户主 Head", "组 Group", "余额 Balance", "出工 Given", "受助 Received", "提醒 Flag")
	if b.Items != nil {
		for _, x := range *b.Items {
			flag := ""
			if x.BelowLimit {
				flag = "低于提醒线 below limit"
			}
			t.add(itoa64(x.HouseholdId), x.HeadName, itoa64(x.Group), num(x.Balance), num(x.Given), num(x.Received), flag)
		}
	}
	if err := t.write(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "余额为正：该户帮人多 positive: it has given more help than received；提醒线 soft limit %s 工日 workdays\n", num(b.SoftLimit))
	if b.Fund != nil {
		fmt.Fprintf(stdout, "村公益账户 village fund: %s\n", num(*b.Fund))
	}
	return nil
}

func statementCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("statement")
	from := f.fs.String("from", "", "起始日期 first day, YYYY-MM-DD")
	to := f.fs.String("to", "", "截止日期 last day, YYYY-MM-DD or today")
	pos, err := f.parse(args, stdout)
	if err != nil {
		return err
	}
	id, err := oneID("statement", "HOUSEHOLD", pos)
	if err != nil {
		return err
	}
	c, err := f.connect(stdout, stderr)
	if err != nil {
		return err
	}
	params := &apiclient.GetStatementParams{}
	if params.From, err = c.date(ctx, "from", *from); err != nil {
		return err
	}
	if params.To, err = c.date(ctx, "to", *to); err != nil {
		return err
	}
	resp, err := c.api.GetStatement(ctx, id, params)
	s, raw, err := call[apiclient.Statement](c, resp, err)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(raw)
	}
	fmt.Fprintf(stdout, "%s（农户 %d）工日明细 statement of household %d：期初 opening %s，期末 closing %s\n",
		householdLabel(s.HeadName, s.HouseholdId), s.HouseholdId, s.HouseholdId, num(s.Opening), num(s.Closing))
	t := newTable("日期 Date", "记账 Tx", "类型 Kind", "工日 Workdays", "结余 Balance", "备注 Memo")
	if s.Lines != nil {
		for _, l := range *s.Lines {
			memo := l.Memo
			if l.ReversesId != nil {
				memo += fmt.Sprintf("（冲正 reverses %d）", *l.ReversesId)
			}
			t.add(l.Date.String(), itoa64(l.TransactionId), named(txKindNames, string(l.Kind)), num(l.Workdays), num(l.Balance), memo)
		}
	}
	return t.write(stdout)
}

// planRunCmd runs the planner on the server for a season: with --dry-run it
// shows the proposal and saves nothing.
func planRunCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("plan run")
	season := f.fs.Int64("season", 0, "农时 the season to plan (required)")
	dryRun := f.fs.Bool("dry-run", false, "仅预览不保存 show the proposal, save nothing")
	if err := f.parseNone(args, stdout); err != nil {
		return err
	}
	if *season <= 0 {
		return usageErrorf("用法 usage: huangong plan run --season ID [--dry-run]")
	}
	c, err := f.connect(stdout, stderr)
	if err != nil {
		return err
	}
	resp, err := c.api.RunPlan(ctx, apiclient.RunPlanJSONRequestBody{SeasonId: season, DryRun: *dryRun})
	p, raw, err := call[apiclient.PlanBody](c, resp, err)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(raw)
	}
	var jobs []apiclient.ProposedJob
	if p.Jobs != nil {
		jobs = *p.Jobs
	}
	var unplaced []apiclient.UnplacedRequest
	if p.Unplaced != nil {
		unplaced = *p.Unplaced
	}
	what := "已保存 saved"
	if p.DryRun {
		what = "预览，未保存 dry run, nothing saved"
	}
	fmt.Fprintf(stdout, "派工计划 plan %s..%s（%s）：新派工 %d new jobs，保留 %d kept，未能安排 %d unplaced；窗口内 in-window %.1f%%\n",
		p.Start, p.End, what, len(jobs), p.FixedJobs, len(unplaced), p.InWindowRatio*100)
	if len(jobs) > 0 {
		t := newTable("编号 ID", "日期 Date", "队 Team", "求助 Request", "受助户 Household", "农活 Task", "工日 Workdays", "出工 Workers")
		for _, j := range jobs {
			id := "-"
			if j.Id != nil {
				id = itoa64(*j.Id)
			}
			date := j.Date.String()
			if j.Late {
				date += " 超期 late"
			}
			var ws []string
			if j.Workers != nil {
				for _, w := range *j.Workers {
					ws = append(ws, fmt.Sprintf("%dx%d", w.HouseholdId, w.Workers))
				}
			}
			t.add(id, date, itoa64(j.TeamId), itoa64(j.RequestId), itoa64(j.HouseholdId), named(taskNames, string(j.Task)),
				num(j.Workdays), strings.Join(ws, " "))
		}
		if err := t.write(stdout); err != nil {
			return err
		}
	}
	if len(unplaced) > 0 {
		t := newTable("未安排求助 Unplaced request", "原因 Reason")
		for _, u := range unplaced {
			t.add(itoa64(u.RequestId), u.Reason)
		}
		return t.write(stdout)
	}
	return nil
}
