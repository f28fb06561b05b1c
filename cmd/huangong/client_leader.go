package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	apiclient "huangong/api/client"
)

// What a team leader reads before work: records by the names people use,
// the morning's day sheet, households named on the command line, and the
// next step when a change is refused.

// headOr is a household's head as the API named it, or its number when
// the answer carried no name.
func headOr(head *string, id int64) string {
	if head != nil && *head != "" {
		return *head
	}
	return "户" + itoa64(id)
}

// householdLabel is how a household is called: 廖金生户.
func householdLabel(head string, id int64) string {
	if head == "" {
		return "户" + itoa64(id)
	}
	return head + "户"
}

// fieldLabel is a field by name and area: 路边田 1.2亩.
func fieldLabel(name string, id int64, area float64) string {
	if name == "" {
		name = "田块" + itoa64(id)
	}
	if area <= 0 {
		return name
	}
	return name + " " + num(area) + "亩"
}

// nextStepError is a refusal, whose server message says the next step
// already, with the exact command to type for it, on the same line:
// "…；下一步：请队长先确认派工… next: …；命令 command: huangong jobs confirm 54".
// The reasoning is the server's, so the web pages say the same; the
// client only turns it into a command line.
type nextStepError struct {
	err error
	cmd string
}

func (e *nextStepError) Error() string { return e.err.Error() + "；命令 command: " + e.cmd }
func (e *nextStepError) Unwrap() error { return e.err }

// conflict is a 409: the record's state refused the change.
func conflict(err error) bool {
	var pe *problemError
	return errors.As(err, &pe) && pe.Status == http.StatusConflict
}

// jobCommand is the command for the next step the server gave after verb
// was refused on job j (409), by the state the job is in; "" where the
// step is someone else's (the village cadre's) or nothing to do.
func jobCommand(verb string, j *apiclient.Job) string {
	switch verb + " " + string(j.State) {
	case "complete scheduled": // confirm first
		return "huangong jobs confirm " + itoa64(j.Id)
	case "confirm done": // nothing to confirm: the done jobs
		return "huangong jobs list --state done"
	case "confirm cancelled", "decline cancelled", "confirm declined", "complete declined", "complete cancelled":
		return "huangong jobs list" // the jobs still to do
	}
	return ""
}

// householdRefs finds the households a command line names, by number or by
// the head's name among the job's team (planned workers and members).
// The team is read once, and only when a name is given.
type householdRefs struct {
	ctx     context.Context
	job     int64
	connect func() (*conn, error)
	team    []apiclient.TeamMember // the candidates, once read
	teamOf  string                 // the team's name, for messages
}

// resolve reads the household of a flag's value: a number as it is; a
// name (徐冬生, or 徐冬生户) when byName allows it and exactly one of the
// team's households is headed so. None or several is a usage error (exit
// 2) naming the candidates.
func (h *householdRefs) resolve(flagName, value, who string, byName bool) (int64, error) {
	who = strings.TrimSpace(who)
	if id, err := strconv.ParseInt(who, 10, 64); err == nil {
		if id <= 0 {
			return 0, usageErrorf("--%s %s: 农户编号须为正整数 a household number is positive", flagName, value)
		}
		return id, nil
	}
	if !byName {
		return 0, usageErrorf("--%s %s: 队外帮工请用农户编号 a helper from outside the team is given by household number, like 12=1", flagName, value)
	}
	if err := h.load(); err != nil {
		return 0, err
	}
	name := strings.TrimSuffix(who, "户")
	var found []apiclient.TeamMember
	for _, m := range h.team {
		if m.HeadName != nil && (*m.HeadName == who || *m.HeadName == name) {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 1:
		return found[0].HouseholdId, nil
	case 0:
		return 0, usageErrorf("--%s %s: %s没有户主叫%s的队员户 no member household of %s is headed by %s; a helper from outside the team: --helper HOUSEHOLD=WORKDAYS",
			flagName, value, h.teamOf, who, h.teamOf, who)
	}
	ids := make([]string, len(found))
	for i, m := range found {
		ids[i] = itoa64(m.HouseholdId)
	}
	return 0, usageErrorf("--%s %s: 有%d户户主叫%s，请用农户编号 %d households are headed by %s: %s; give the number, like --%s %s=…",
		flagName, value, len(found), who, len(found), who, strings.Join(ids, ", "), flagName, ids[0])
}

// load reads the job's planned workers and its team's members.
func (h *householdRefs) load() error {
	if h.team != nil {
		return nil
	}
	c, err := h.connect()
	if err != nil {
		return err
	}
	resp, err := c.api.GetJob(h.ctx, h.job)
	j, _, err := call[apiclient.Job](c, resp, err)
	if err != nil {
		return err
	}
	h.teamOf = firstOf(j.TeamName, "本队")
	h.team = []apiclient.TeamMember{}
	if j.Workers != nil {
		for _, w := range *j.Workers {
			h.team = append(h.team, apiclient.TeamMember{HouseholdId: w.HouseholdId, HeadName: w.HeadName})
		}
	}
	resp, err = c.api.GetTeam(h.ctx, j.TeamId)
	t, _, err := call[apiclient.Team](c, resp, err)
	if err != nil {
		return err
	}
	if t.Members != nil {
		for _, m := range *t.Members {
			if !slices.ContainsFunc(h.team, func(o apiclient.TeamMember) bool { return o.HouseholdId == m.HouseholdId }) {
				h.team = append(h.team, m)
			}
		}
	}
	return nil
}

var weekdays = []string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}

// jobsToday prints the day sheet a leader reads aloud in the morning, or
// pins up: for each job of the day, where to go (the household, its phone,
// the field and its area), the task and who goes; then each member
// household with where it goes. Declined and cancelled jobs are left out.
func jobsToday(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("jobs today")
	date := f.fs.String("date", "today", "哪一天 the day: today, tomorrow or YYYY-MM-DD (the village's)")
	c, err := f.open(args, stdout, stderr)
	if err != nil {
		return err
	}
	day, err := c.date(ctx, "date", *date)
	if err != nil {
		return err
	}
	all, raw, err := c.listJobs(ctx, &apiclient.ListJobsParams{Limit: &pageLimit, Date: day})
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(raw)
	}
	jobs := slices.DeleteFunc(all, func(j apiclient.Job) bool {
		return j.State == apiclient.JobStateDeclined || j.State == apiclient.JobStateCancelled
	})
	me, err := c.me(ctx)
	if err != nil {
		return err
	}
	title := me.Village.Name
	if me.TeamName != nil {
		title += " " + *me.TeamName
	}
	fmt.Fprintf(stdout, "%s 派工单 day sheet %s %s\n", title, day, weekdays[day.Weekday()])
	if len(jobs) == 0 {
		_, err := fmt.Fprintln(stdout, "这天没有派工 no jobs that day")
		return err
	}
	people := 0
	for _, j := range jobs {
		people += plannedPeople(j)
	}
	fmt.Fprintf(stdout, "共 %d 个派工，出工 %d 人 %d jobs, %d people\n\n", len(jobs), people, len(jobs), people)

	sheet := &table{} // no headings: a label column and its values
	for i, j := range jobs {
		if i > 0 {
			sheet.add()
		}
		state := named(jobStateNames, string(j.State))
		if j.State == apiclient.JobStateScheduled {
			state += "，请确认 to confirm: huangong jobs confirm " + itoa64(j.Id)
		}
		sheet.add(fmt.Sprintf("派工 %d", j.Id), named(taskNames, string(j.Task))+"  "+state)
		if me.Role != apiclient.MeRoleLeader {
			sheet.add("  队 Team", j.TeamName)
		}
		where := householdLabel(j.HeadName, j.HouseholdId)
		if j.Phone != nil && *j.Phone != "" {
			where += "  电话 " + *j.Phone
		}
		sheet.add("  去 Go to", where)
		sheet.add("  田块 Field", fmt.Sprintf("%s  第%d组 group %d", fieldLabel(j.FieldName, j.FieldId, j.FieldArea), j.Group, j.Group))
		sheet.add("  出工 People", fmt.Sprintf("%s，共%d人", workersText(j), plannedPeople(j)))
		due := j.Due.String()
		if j.Late {
			due += " 已超期 late"
		}
		sheet.add("  期限 Due", due)
	}
	if err := sheet.write(stdout); err != nil {
		return err
	}

	fmt.Fprintln(stdout, "\n谁去哪 who goes where")
	who := newTable("队员户 Member", "人数 People", "去 Go to", "农活 Task", "派工 Job")
	for _, j := range jobs {
		if j.Workers == nil {
			continue
		}
		for _, w := range *j.Workers {
			who.add(headOr(w.HeadName, w.HouseholdId), fmt.Sprintf("%d人", w.Workers),
				householdLabel(j.HeadName, j.HouseholdId)+" "+firstOf(j.FieldName, "田块"+itoa64(j.FieldId)),
				named(taskNames, string(j.Task)), itoa64(j.Id))
		}
	}
	return who.write(stdout)
}

// plannedPeople is how many people a job plans on.
func plannedPeople(j apiclient.Job) int {
	n := 0
	if j.Workers != nil {
		for _, w := range *j.Workers {
			n += int(w.Workers)
		}
	}
	return n
}

// workersText is a job's planned workers by name: 徐冬生2人、廖金生1人.
func workersText(j apiclient.Job) string {
	if j.Workers == nil {
		return ""
	}
	parts := make([]string, len(*j.Workers))
	for i, w := range *j.Workers {
		parts[i] = fmt.Sprintf("%s%d人", headOr(w.HeadName, w.HouseholdId), w.Workers)
	}
	return strings.Join(parts, "、")
}
