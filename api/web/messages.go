package web

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
)

// catalogue is every text the pages show, Chinese and English, in one
// place. A key missing here shows as itself, and a test fails.
var catalogue = map[string][2]string{
	"app.name":        {"换工互助", "Huangong"},
	"signout":         {"退出", "Sign out"},
	"back.home":       {"回到首页", "Back to my page"},
	"err.title":       {"没能办成", "That did not work"},
	"err.csrf":        {"表单已过期或不是从本页提交的，请回到页面重新填写。", "This form has expired or did not come from this page; go back and fill it in again."},
	"err.role":        {"您的身份不能打开这个页面。", "Your sign-in cannot open this page."},
	"err.notfound":    {"没有找到这个页面。", "There is no such page."},
	"err.signedout":   {"您还没有登录，或者登录已失效。请重新扫描您的二维码。", "You are not signed in, or your sign-in has ended. Scan your card's QR code again."},
	"err.crossorigin": {"不接受从其他网站提交的表单。", "Forms sent from another site are refused."},
	"err.internal":    {"系统出了点问题，请稍后再试。", "Something went wrong on our side; try again later."},
	"err.utf8":        {"“%s”里有无法识别的字符（空字符或不是UTF-8文字），请回到页面重新输入。", "“%s” holds a NUL or characters that are not UTF-8 text; go back and type it again."},

	"form.note":    {"备注", "note"},
	"form.comment": {"评价的话", "comment"},
	"form.reason":  {"停工原因", "rain-out reason"},
	"form.group":   {"村民小组", "village group"},

	"signin.title":      {"登录", "Sign in"},
	"signin.howto":      {"请用手机扫描村里发给您的二维码卡片；也可以把卡片上的令牌粘贴在下面。", "Scan the QR code on the card the village gave you with your phone, or paste the token printed on it below."},
	"signin.token":      {"令牌", "Token"},
	"signin.submit":     {"登录", "Sign in"},
	"signin.bad":        {"这个登录链接无效或已作废，请找村干部重新打印。", "This sign-in link is not valid or has been revoked; ask a cadre for a new card."},
	"signin.wait":       {"登录失败次数太多，请过几分钟再试。", "Too many failed sign-ins from here; try again in a few minutes."},
	"signin.switch":     {"换一个身份？", "Switch who is signed in?"},
	"signin.switch.ask": {"您已作为%s登录，要换成%s吗？", "You are signed in as %s; switch to %s?"},
	"signin.switch.why": {"如果您没有打开过这个登录链接，请选“不换”。", "If you did not open this sign-in link yourself, stay as you are."},
	"signin.switch.yes": {"换成%s", "Switch to %s"},
	"signin.switch.no":  {"不换，仍是%s", "Stay as %s"},
	"who.household":     {"%s户", "the household of %s"},
	"who.cadre":         {"%s村干部", "a cadre of %s"},
	"who.leader":        {"%s队长", "the leader of %s"},
	"signin.leader":     {"队长请使用 huangong 命令行或接口安排派工；这里是农户和村干部的页面。", "Team leaders work with the huangong command line or the API; these pages are for households and cadres."},

	"household.title":     {"我家的换工", "My household"},
	"household.head":      {"%s 户", "%s's household"},
	"household.group":     {"第%d村民小组", "Village group %d"},
	"household.members":   {"%d口人，%d个劳力", "%d people, %d able to work"},
	"household.cadre":     {"您以村干部身份查看，可以代这户登记求助。", "You are looking as a cadre and can ask for help on this household's behalf."},
	"flag.elderly":        {"老年户", "elderly"},
	"flag.leftBehind":     {"留守户", "left-behind"},
	"flag.disabled":       {"残疾", "disabled"},
	"flag.fiveGuarantee":  {"五保户", "five-guarantee"},
	"flag.exempt":         {"村公益兜底", "covered by the village fund"},
	"flash.asked":         {"求助已登记，村里排好后会告诉您哪天哪个队来。", "Your request is registered. Once it is planned you will see which team comes on which day."},
	"flash.rated":         {"谢谢您的评价！", "Thank you for your rating!"},
	"flash.disputed":      {"异议已提交，村干部会来核实。", "Your dispute is sent; the village cadre will check it."},
	"flash.resolved":      {"派工%d的异议已处理。", "The dispute on job %d is resolved."},
	"posting.title":       {"帮工记账", "Workdays recorded for your help"},
	"posting.explain":     {"队长记下的出工，完工后3天内可以提异议。", "What the team leader recorded; you may dispute it within 3 days of the work."},
	"posting.recorded":    {"%d人 · 共%s个工日", "%d people · %s workdays"},
	"posting.reason":      {"异议：%s", "Disputed: %s"},
	"posting.ask":         {"记得不对？%s前可以提异议", "Not right? You may dispute it until %s"},
	"posting.placeholder": {"哪里不对，比如只来了一个人", "What is wrong, e.g. only one person came"},
	"posting.submit":      {"提异议", "Dispute"},
	"dispute.open":        {"可提异议", "may be disputed"},
	"dispute.disputed":    {"已提异议，等村干部核实", "disputed, waiting for the cadre"},
	"dispute.confirmed":   {"已确认", "confirmed"},
	"dispute.reversed":    {"已冲正", "reversed"},
	"disputes.title":      {"记工异议", "Disputed postings"},
	"disputes.job":        {"派工", "Job"},
	"disputes.note":       {"核实情况", "What you found"},
	"disputes.confirm":    {"维持", "Confirm"},
	"disputes.reverse":    {"冲正", "Reverse"},
	"flag.assisted":       {"帮扶户", "assisted"},
	"flash.cancelled":     {"求助已撤销，已派的队会收到通知。", "Your request is cancelled; any team planned for it has been told."},

	"balance.title": {"换工账", "Workday balance"},
	"balance.words": {"您家帮别人干了 %s 天，别人帮您家干了 %s 天。", "You have helped %s days, been helped %s days."},
	"balance.owed":  {"乡亲们还欠您家 %s 天工。", "The village owes you %s days of help."},
	"balance.owes":  {"您家还欠乡亲们 %s 天工。", "You owe the village %s days of help."},
	"balance.even":  {"两清，不欠不差。", "All square."},
	// An assisted (帮扶) household's balance is help given and received,
	// never a debt: the village fund pays for the help it receives.
	"balance.assisted":     {"得到帮助 %s 天工，帮别人 %s 天工。", "Help received: %s days. Help given: %s days."},
	"balance.assistedNote": {"您家是帮扶户：乡亲们来帮忙的工日由村里公益账户承担，不用还工。", "Your household is assisted: the village fund covers the days of help you receive; nothing is to be paid back."},
	"balance.below":        {"欠得有点多了，村干部会来商量；不影响您求助。", "That is past the village's limit; a cadre will talk it over with you. You can still ask for help."},

	"upcoming.title": {"要来帮忙的", "Help coming"},
	"job.people":     {"%d人", "people: %d"},
	"job.scheduled":  {"已安排", "planned"},
	"job.confirmed":  {"队长已确认", "confirmed by the leader"},
	"job.done":       {"已完工", "done"},
	"job.declined":   {"队长推辞", "declined"},
	"job.cancelled":  {"已取消", "cancelled"},
	"job.late":       {"晚于期限", "after the due date"},

	"ask.title":     {"请求帮忙", "Ask for help"},
	"ask.window":    {"%s：%s 至 %s", "%s: %s to %s"},
	"ask.notopen":   {"尚未开始，可以先登记", "not started yet; you can ask now"},
	"ask.field":     {"哪块田", "Which field"},
	"ask.task":      {"干什么活", "Which work"},
	"ask.earliest":  {"最早哪天", "Earliest day"},
	"ask.latest":    {"最晚哪天", "Latest day"},
	"ask.note":      {"备注（可不填）", "Note (optional)"},
	"ask.note.hint": {"比如：家里没有劳力", "e.g. no one at home can work"},
	"ask.submit":    {"登记求助", "Ask for help"},
	"ask.allasked":  {"您家每块田的每样活都已登记求助，可在下面查看或撤销；要改请先撤销。", "Every field and work of yours already has an open request: see or cancel them below; to change one, cancel it first."},
	"ask.nofields":  {"还没有登记田块，请找村干部。", "No fields are recorded yet; ask a cadre."},
	"ask.noseason":  {"现在不是农忙季节，不能登记求助。", "No busy season is open now, so help cannot be asked for."},
	"field.area":    {"%s亩", "%s mu"},

	"task.prepare":     {"整地", "land preparation"},
	"task.transplant":  {"插秧", "transplanting"},
	"task.harvest":     {"收割", "harvest"},
	"crop.early_rice":  {"早稻", "early rice"},
	"crop.late_rice":   {"晚稻", "late rice"},
	"crop.single_rice": {"中稻", "single rice"},
	"crop.rapeseed":    {"油菜", "rapeseed"},
	"crop.other":       {"其他", "other"},

	"requests.title":    {"我的求助", "My requests"},
	"requests.none":     {"还没有求助。", "No requests yet."},
	"request.window":    {"%s 至 %s", "%s to %s"},
	"request.workdays":  {"约%s个工日", "workdays: about %s"},
	"request.submitted": {"已登记", "registered"},
	"request.scheduled": {"已派工", "planned"},
	"request.confirmed": {"已确认", "confirmed"},
	"request.done":      {"已完工", "done"},
	"request.closed":    {"已结束", "closed"},
	"request.cancelled": {"已取消", "cancelled"},
	"request.overdue":   {"已超期", "overdue"},
	"request.unplaced":  {"暂未排上：%s", "Not placed yet: %s"},
	"request.changes":   {"调整记录 %d 条", "%d changes"},
	"request.note":      {"备注：%s", "Note: %s"},
	"cancel.summary":    {"不需要了？写上原因，可撤销这条求助", "No longer needed? Say why to cancel it"},
	"cancel.hint":       {"比如：儿子回家了，自己能干", "e.g. my son came home and can do it"},
	"cancel.submit":     {"撤销这条求助", "Cancel this request"},
	"rate.ask":          {"活干得怎么样？点星星打分。", "How was the work? Tap the stars."},
	"rate.n":            {"%d星", "%d stars"},
	"rate.given":        {"您打了%d星", "you gave %d stars"},
	"rate.comment":      {"想说的话（可不填）", "Anything to say (optional)"},
	"rate.submit":       {"提交评价", "Send rating"},
	"season.planned":    {"未开始", "planned"},
	"season.open":       {"进行中", "open"},
	"season.closed":     {"已结束", "closed"},

	"board.title":    {"农忙派工看板", "Season board"},
	"board.season":   {"农时", "Season"},
	"board.show":     {"查看", "Show"},
	"board.tonotice": {"打印公示 →", "Printable notice →"},
	"board.tocards":  {"登录卡 →", "Sign-in cards →"},

	"cards.title":        {"农户登录卡", "Sign-in cards"},
	"cards.toboard":      {"← 回到看板", "← Back to the board"},
	"cards.explain":      {"每户一张登录卡：扫码即可查看本户的换工记录。补发新卡时，该户的旧卡立即作废；丢失的卡请点“作废”。", "One card per household: scanning it opens the household's page. A new card revokes the household's old ones at once; revoke a lost card with Revoke."},
	"cards.base":         {"新卡的链接指向 %s", "New cards link to %s"},
	"cards.local":        {"这是本机地址，手机打不开：请在村设置中填写公开地址（publicUrl）。", "This is this computer's own address, which no phone reaches: set the village's public address (publicUrl)."},
	"cards.sheet":        {"打印第%d组的登录卡", "Print group %d's cards"},
	"cards.sheetexplain": {"为本组 %d 户各发一张新卡（A4，每页8张，沿虚线剪开），旧卡全部作废。", "A new card for each of the group's %d households (A4, eight a page, cut along the dashes); their old cards are revoked."},
	"cards.print":        {"下载第%d组登录卡（PDF，旧卡作废）", "Download group %d's cards (PDF; old cards revoked)"},
	"cards.live":         {"有效的卡", "Live cards"},
	"cards.token":        {"#%d 发放 %s，到期 %s，最近使用 %s", "#%d issued %s, expires %s, last used %s"},
	"cards.none":         {"没有有效的卡", "no live card"},
	"cards.revoke":       {"作废", "Revoke"},
	"cards.reissue":      {"补发新卡（PDF）", "Reissue (PDF)"},
	"cards.revoked":      {"卡 #%s 已作废，用它登录的手机已退出。", "Card #%s is revoked; the phones signed in with it are signed out."},
	"board.window":       {"%s 至 %s", "%s to %s"},
	"board.today":        {"今天 %s", "today %s"},
	"board.counts":       {"求助 %d 件：待安排 %d，已派工 %d，已确认 %d，已完工 %d", "%d requests: %d waiting, %d planned, %d confirmed, %d done"},
	"board.noseason":     {"还没有农时。", "There is no season yet."},
	"flash.applied":      {"计划已保存：新派工 %d 个，已通知各队和农户。", "Plan saved: %d new jobs; the teams and households have been told."},
	"flash.changed":      {"注意：保存时记录又有变动，保存的计划与您预览的不完全相同，请在看板上核对。", "Note: the records changed while the plan was saved, so it differs from your preview; check it on the board."},
	"flash.rain":         {"%s 已登记停工，取消派工 %d 个，并已重新安排。", "%s is marked rained out; %d jobs were cancelled and the season planned again."},

	"plan.title":   {"排派工", "Plan the jobs"},
	"plan.explain": {"先试排看看结果，满意再保存。已确认的派工不动。", "Try a dry run first and save it if it looks right. Confirmed jobs stay as they are."},
	"plan.dry":     {"试排（不保存）", "Dry run (saves nothing)"},
	"plan.apply":   {"保存这个计划", "Save this plan"},
	"plan.discard": {"不要了", "Discard"},
	"plan.changed": {"计划已变化，请再看一遍：您试排之后有了新的求助或变动，下面是新的试排结果，还没有保存。", "The plan changed since your preview; review it again: a request or a job changed after your dry run. Below is the new dry run; nothing is saved yet."},

	"rain.title":      {"雨天停工", "Rain-out day"},
	"rain.date":       {"日期", "Date"},
	"rain.group":      {"范围", "Where"},
	"rain.all":        {"全村", "whole village"},
	"rain.reason":     {"原因", "Reason"},
	"rain.default":    {"大雨", "heavy rain"},
	"rain.submit":     {"登记停工…", "Mark rained out…"},
	"rain.confirm":    {"确认：%[1]s %[2]s停工，将取消 %[3]d 个派工，涉及 %[4]d 户，并重新安排。", "Confirm: %[1]s rained out for %[2]s; %[3]d jobs of %[4]d households will be cancelled and the season planned again."},
	"rain.yes":        {"确认停工并重排", "Yes, mark and plan again"},
	"rain.no":         {"不停工", "No, keep the day"},
	"rain.undo":       {"撤销停工", "Take back"},
	"unblock.baddate": {"日期“%s”无效。没有撤销停工。", "“%s” is not a date. Nothing was taken back."},
	"flash.unblock":   {"%s 已撤销停工，并已重新安排。", "%s is no longer rained out; the season was planned again."},
	"notice.sheet":    {"第 %d 页，共 %d 页；后面还有 %d 户。", "Sheet %d of %d; %d more households follow."},
	"notice.next":     {"下一页", "Next sheet"},
	"grid.more":       {"农时太长，另有 %d 天未显示。", "The season is too long: %d more days are not shown."},
	"rain.badgroup":   {"村民小组“%s”无效：请选一个村民小组，或者选全村。没有登记停工。", "“%s” is not a village group: choose a group, or the whole village. Nothing was marked."},

	"preview.title":    {"试排结果（尚未保存）", "Dry run (not saved)"},
	"preview.summary":  {"新派工 %d 个，共 %s 个工日；期限内完成比例 %s（相对上界）；未能安排 %d 件，超期 %d 件；保留原派工 %d 个。", "%d new jobs, %s workdays; in-window %s of the bound; %d requests not placed, %d late; %d jobs kept."},
	"preview.unplaced": {"未能安排的求助", "Requests not placed"},

	"grid.title":     {"每日派工（日期 × 互助队）", "Jobs by day and team"},
	"grid.rain":      {"停工日", "rained out"},
	"grid.todaymark": {"今天", "today"},
	"team.leader":    {"队长 %s", "leader %s"},
	"team.capacity":  {"每天最多%d人", "up to %d a day"},

	"col.date":      {"日期", "Date"},
	"col.team":      {"互助队", "Team"},
	"col.household": {"农户", "Household"},
	"col.work":      {"农活", "Work"},
	"col.people":    {"人数", "People"},
	"col.window":    {"时段", "Window"},
	"col.workdays":  {"工日", "Workdays"},
	"col.why":       {"情况", "Status"},
	"col.crew":      {"人数上限", "Crew cap"},
	"crew.set":      {"村干部设定", "set by a cadre"},
	"chip.crew":     {"上限%d人", "cap %d"},
	"col.head":      {"户主", "Head"},
	"col.given":     {"帮工", "Given"},
	"col.received":  {"受助", "Received"},
	"col.balance":   {"结余", "Balance"},

	"wait.title":    {"待安排和超期的求助", "Waiting or late"},
	"wait.none":     {"都安排上了。", "Everything is placed."},
	"wait.unplaced": {"未安排", "not placed"},
	"wait.priority": {"优先", "priority"},

	"load.title":      {"各队工作量", "Each team's load"},
	"load.members":    {"队员户", "Members"},
	"load.jobs":       {"派工", "Jobs"},
	"load.peopledays": {"人次", "People-days"},
	"load.share":      {"占本季能力", "Of the season's capacity"},
	"load.explain":    {"人次是本季已安排或已完工的出工人数之和；能力按每天最多人数乘以本季天数计。", "People-days sum the people of the season's planned and done jobs; capacity is the team's people a day times the season's days."},

	"chart.title":   {"各户换工结余", "Workday balances"},
	"chart.aria":    {"%d户的换工结余柱状图，警戒线 %s 个工日", "Bar chart of %d households' balances, soft limit %s workdays"},
	"chart.limit":   {"警戒线 %s", "soft limit %s"},
	"chart.explain": {"每根柱子是一户，从欠得最多到多帮得最多排列；柱子在0以上是乡亲欠这户的工，在0以下是这户欠的工；红色低于警戒线，只提醒，不影响求助。帮扶户受助由村公益账户承担，柱子不会低于0。", "One bar per household, from the most owing to the most owed. Above 0 the village owes the household help; below 0 it owes help. Red bars are below the soft limit: a flag, never a refusal. The village fund covers the help assisted households receive: their bars never fall below 0."},
	"chart.below":   {"低于警戒线的 %d 户", "%d households below the soft limit"},

	"notice.title":      {"换工公示", "Public notice"},
	"notice.heading":    {"换工互助公示", "mutual-aid labor notice"},
	"notice.sub":        {"农时 %s 至 %s · 公示日期 %s · 单位：工日", "Season %s to %s · posted %s · in workdays"},
	"notice.print":      {"打印", "Print"},
	"notice.toboard":    {"← 回到看板", "← Back to the board"},
	"notice.figures":    {"本季数字", "The season in figures"},
	"notice.teams":      {"各互助队", "Teams"},
	"notice.jobs":       {"完工派工", "Jobs done"},
	"notice.teamdays":   {"出工工日", "Workdays"},
	"notice.households": {"各户换工", "Households"},
	"notice.explain":    {"帮工、受助为本季派工记入换工账的工日（已扣除冲正）；结余为至今累计：正数是这户多帮了乡亲的工，负数是乡亲多帮了这户、日后以工还工的工日。", "Given and received are the workdays of this season's jobs as the ledger holds them, net of corrections; the balance is to date: positive, the household has helped more than it was helped; negative, it was helped more and returns the days in work."},
	"notice.legend":     {"※ 帮扶户（老年、留守、残疾、五保等）：受助工日由村公益账户承担，不计入本户结余。加粗为低于警戒线。", "※ assisted households (elderly, left-behind, disabled, five-guarantee…): the village fund covers the help they receive; it is not counted against them. Bold: below the soft limit."},
	"notice.objection":  {"公示期七天。如有异议，请向村委会或联户党员反映。", "Posted for seven days. Any objection to the village committee or your linked party member."},
	"notice.sign":       {"%s村民委员会（盖章）　　　　年　　月　　日", "%s village committee (seal)          date"},
	"fig.received":      {"收到求助", "Requests"},
	"fig.done":          {"已办结", "Done"},
	"fig.ontime":        {"按期办结", "Done on time"},
	"fig.completion":    {"办结率", "Completion rate"},
	"fig.response":      {"平均响应", "Mean response"},
	"fig.feedback":      {"平均评价", "Mean rating"},
	"fig.feedbacks":     {"%d户评价", "%d ratings"},
	"fig.workdays":      {"换工工日", "Workdays exchanged"},
	"fig.open":          {"未办结", "Still open"},
	"fig.overdue":       {"超期%d", "%d overdue"},
	"fig.fund":          {"村公益账户", "Village fund"},
	"unit.hours":        {"%s小时", "%s hours"},
	"unit.days":         {"%s天", "%s days"},

	// The outbox's event types (api.EventTypes), for pages that tell of them.
	"event.request.submitted":    {"新求助", "new request"},
	"event.job.scheduled":        {"已派工", "job planned"},
	"event.job.confirmed":        {"队长已确认派工", "job confirmed"},
	"event.job.declined":         {"队长推辞派工", "job declined"},
	"event.job.cancelled":        {"派工已取消", "job cancelled"},
	"event.job.done":             {"派工已完工", "job done"},
	"event.request.done":         {"求助已办结", "request done"},
	"event.request.feedback":     {"农户已评价", "feedback given"},
	"event.request.overdue":      {"求助已超期", "request overdue"},
	"event.jobs.today":           {"今日派工", "today's jobs"},
	"event.notice.published":     {"公示已发布", "notice published"},
	"event.plan.updated":         {"派工计划有调整", "plan updated"},
	"event.job.disputed":         {"农户对记工有异议", "posting disputed"},
	"event.job.dispute_resolved": {"记工异议已处理", "dispute resolved"},
}

// text looks a key up in a language and fills in its arguments.
func text(lang, key string, args ...any) string {
	m, ok := catalogue[key]
	if !ok {
		return key
	}
	s := m[0]
	if lang == langEN {
		s = m[1]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"wd":    workdays,
	"add":   func(a, b int) int { return a + b },
	"later": func(a, b string) string { return max(a, b) },
	// unblockArgs hands the unblock form its page and a blocked day.
	"unblockArgs": func(page any, date string, group int) map[string]any {
		return map[string]any{"P": page, "Date": date, "Group": group}
	},
	"neg": func(n int64) int64 { return -n },
	"countdown": func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = n - i
		}
		return out
	},
	"stars": func(n int) string { return strings.Repeat("★", n) + strings.Repeat("☆", 5-n) },
}

// workdays shows half days as workdays: 9 → "4.5".
func workdays(half int64) string { return strconv.FormatFloat(float64(half)/2, 'f', -1, 64) }
