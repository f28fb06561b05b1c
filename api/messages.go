package api

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"
)

// Every message a villager may read is Chinese first. The store's own
// messages are written so; huma's validation and parsing messages are
// English only, so they are given a Chinese lead here, in the one place
// every huma error is made (huma.NewError), keeping the English beside it
// and every problem+json field (status, title, detail, errors[].location
// and value) as huma set it.

// chineseFirst pairs each of huma's message formats with its Chinese.
// %v, %d and %s in a format stand for the value huma filled in, which the
// Chinese repeats in order.
var chineseFirst = []struct{ en, zh string }{
	{"validation failed", "输入有误"},
	{"request body is required", "缺少请求内容"},
	{"cannot read request body", "无法读取请求内容"},
	{"request body read timeout", "读取请求内容超时"},
	{"request body is too large limit=%d bytes", "请求内容过大（上限 %d 字节）"},
	{"required query parameter is missing", "缺少必填的查询参数"},
	{"required header parameter is missing", "缺少必填的请求头"},
	{"required path parameter is missing", "缺少必填的路径参数"},
	{"invalid integer", "应为整数"},
	{"invalid float", "应为数字"},
	{"invalid floating value", "应为数字"},
	{"invalid boolean", "应为 true 或 false"},
	{"unable to marshal response", "无法生成所需格式的应答"},
	{validation.MsgUnexpectedProperty, "不认识的字段"},
	{validation.MsgExpectedRFC3339DateTime, "应为日期时间，如 2026-04-20T08:00:00+08:00"},
	{validation.MsgExpectedRFC3339Date, "应为日期，如 2026-04-20"},
	{validation.MsgExpectedRFC3339Time, "应为时间，如 08:00:00+08:00"},
	{validation.MsgExpectedRFC5322Email, "应为电子邮箱：%v"},
	{validation.MsgExpectedRFC3986URI, "应为网址：%v"},
	{validation.MsgExpectedRFC4122UUID, "应为UUID：%v"},
	{validation.MsgExpectedBoolean, "应为是或否（true/false）"},
	{validation.MsgExpectedNumber, "应为数字"},
	{validation.MsgExpectedInteger, "应为整数"},
	{validation.MsgExpectedString, "应为文字"},
	{validation.MsgExpectedArray, "应为列表"},
	{validation.MsgExpectedObject, "应为对象"},
	{validation.MsgExpectedArrayItemsUnique, "列表中不能有重复项"},
	{validation.MsgExpectedOneOf, "只能是以下之一：%s"},
	{validation.MsgExpectedMinimumNumber, "不能小于 %v"},
	{validation.MsgExpectedExclusiveMinimumNumber, "须大于 %v"},
	{validation.MsgExpectedMaximumNumber, "不能大于 %v"},
	{validation.MsgExpectedExclusiveMaximumNumber, "须小于 %v"},
	{validation.MsgExpectedNumberBeMultipleOf, "须是 %v 的倍数"},
	{validation.MsgExpectedMinLength, "至少 %d 个字"},
	{validation.MsgExpectedMaxLength, "最多 %d 个字"},
	{validation.MsgExpectedBePattern, "格式应为%s"},
	{validation.MsgExpectedMatchPattern, "格式不对（%s）"},
	{validation.MsgExpectedMinItems, "至少 %d 项"},
	{validation.MsgExpectedMaxItems, "最多 %d 项"},
	{validation.MsgExpectedMinProperties, "至少 %d 个字段"},
	{validation.MsgExpectedMaxProperties, "最多 %d 个字段"},
	{validation.MsgExpectedRequiredProperty, "缺少必填字段 %s"},
	{validation.MsgExpectedDependentRequiredProperty, "填了 %[2]s 就须填 %[1]s"},
}

// chineseFormat is one of chineseFirst compiled: the English as a
// regular expression whose groups are the filled-in values.
type chineseFormat struct {
	re *regexp.Regexp
	zh string
}

var chineseFormats = func() []chineseFormat {
	verb := regexp.MustCompile(`%(?:\[\d\])?[vds]`)
	out := make([]chineseFormat, 0, len(chineseFirst))
	for _, m := range chineseFirst {
		parts := verb.Split(m.en, -1)
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		out = append(out, chineseFormat{re: regexp.MustCompile("^" + strings.Join(parts, "(.*)") + "$"), zh: m.zh})
	}
	return out
}()

// chinese gives an English message of huma's its Chinese lead: "不能小于 1
// expected number >= 1". A message already holding Chinese is the
// store's, or was given its lead before, and is left as it is; one not
// known gets a general lead for its status.
func chinese(status int, msg string) string {
	if msg == "" || hasHan(msg) {
		return msg
	}
	for _, f := range chineseFormats {
		if m := f.re.FindStringSubmatch(msg); m != nil {
			args := make([]any, len(m)-1)
			for i, a := range m[1:] {
				args[i] = a
			}
			return fmt.Sprintf(f.zh, args...) + " " + msg
		}
	}
	lead, ok := statusLead[status]
	if !ok {
		lead = "请求未能完成"
	}
	return lead + " " + msg
}

// statusLead is the Chinese lead of a message chineseFirst does not know.
var statusLead = map[int]string{
	400: "请求有误", 401: "未登录或令牌无效", 403: "无权操作", 404: "未找到", 405: "不支持此操作",
	406: "不支持所要的应答格式", 409: "与现有记录冲突", 412: "记录已被他人修改", 413: "请求内容过大",
	415: "不支持的内容类型", 422: "输入有误", 429: "请求太频繁", 500: "内部错误",
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// defaultNewError is huma's own, which chineseNewError wraps.
var defaultNewError = huma.NewError

// chineseNewError is huma.NewError with Chinese-first messages: the
// problem's detail and each error detail's message.
func chineseNewError(status int, msg string, errs ...error) huma.StatusError {
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		if e == nil {
			continue
		}
		var d *huma.ErrorDetail
		if dd, ok := e.(huma.ErrorDetailer); ok {
			cp := *dd.ErrorDetail()
			d = &cp
		} else {
			d = &huma.ErrorDetail{Message: e.Error()}
		}
		d.Message = chinese(status, d.Message)
		if secretLocation(d.Location) {
			d.Value = nil // a channel's credentials are never echoed, not even when wrong
		}
		out = append(out, d)
	}
	return defaultNewError(status, chinese(status, msg), out...)
}

func init() { huma.NewError = chineseNewError }
