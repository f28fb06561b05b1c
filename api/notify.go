package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"huangong/store"
)

// NotifyChannel is a way out for the village's messages as the API shows
// it: never its secrets, only whether they are set and a masked URL.
type NotifyChannel struct {
	ID         int64     `json:"id" example:"3" doc:"Channel ID 渠道编号"`
	Kind       string    `json:"kind" enum:"sms,wecom,dingtalk,webhook" example:"wecom" doc:"sms 短信网关 (households), wecom 企业微信群机器人 / dingtalk 钉钉群机器人 (a team), webhook 通用回调 (every event) 渠道类型"`
	TeamID     int64     `json:"teamId,omitempty" example:"1" doc:"The robot's team 所属互助队"`
	Name       string    `json:"name" example:"第一互助队群" doc:"A name for the cadre 名称"`
	URL        string    `json:"url" example:"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***" doc:"The address, query values and long path parts masked 地址（已隐去密钥）"`
	Method     string    `json:"method" example:"POST" doc:"HTTP method 请求方法"`
	HeaderKeys []string  `json:"headerKeys" example:"[\"Authorization\"]" doc:"Names of the headers sent; their values are never shown 请求头名称（不显示值）"`
	Body       string    `json:"body,omitempty" example:"{\"to\":\"{phone}\",\"content\":\"{text}\"}" doc:"The SMS body template 短信正文模板"`
	SecretSet  bool      `json:"secretSet" example:"true" doc:"A signing secret is stored 已设置签名密钥"`
	Enabled    bool      `json:"enabled" example:"true" doc:"Messages go through it 启用"`
	Version    int64     `json:"version" example:"1" doc:"Version 版本号"`
	CreatedAt  time.Time `json:"createdAt" example:"2026-04-01T02:00:00Z" doc:"Configured 配置时间"`
	UpdatedAt  time.Time `json:"updatedAt" example:"2026-04-01T02:00:00Z" doc:"Last changed 修改时间"`
}

func notifyChannelOf(c *store.Channel) NotifyChannel {
	keys := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	body := c.Body
	if body != "" {
		body = maskBody(body)
	}
	return NotifyChannel{ID: c.ID, Kind: c.Kind, TeamID: c.TeamID, Name: c.Name, URL: store.MaskURL(c.URL), Method: c.Method,
		HeaderKeys: keys, Body: body, SecretSet: c.Secret != "", Enabled: c.Enabled, Version: c.Version,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// maskBody shows an SMS template with its literal values starred:
// providers put keys in the body too. In a JSON body every quoted string
// of more than a few characters without a placeholder, in a form body
// every value without one.
func maskBody(b string) string {
	if t := strings.TrimSpace(b); !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") && strings.Contains(t, "=") {
		parts := strings.Split(b, "&")
		for i, kv := range parts {
			if k, v, ok := strings.Cut(kv, "="); ok && !strings.Contains(v, "{") {
				parts[i] = k + "=***"
			}
		}
		return strings.Join(parts, "&")
	}
	var out strings.Builder
	for i, part := range strings.Split(b, `"`) {
		if i > 0 {
			out.WriteByte('"')
		}
		if i%2 == 1 && len(part) > 12 && !strings.Contains(part, "{") {
			part = "***"
		}
		out.WriteString(part)
	}
	return out.String()
}

// NotifyChannelInput configures a channel.
type NotifyChannelInput struct {
	Kind    string            `json:"kind" enum:"sms,wecom,dingtalk,webhook" example:"sms" doc:"sms: the village's SMS gateway; wecom, dingtalk: a team's group robot; webhook: the village's JSON webhook 渠道类型"`
	TeamID  int64             `json:"teamId,omitempty" minimum:"0" example:"1" doc:"The team, for a group robot only 群机器人所属互助队"`
	Name    string            `json:"name,omitempty" maxLength:"40" example:"村短信平台" doc:"A name 名称"`
	URL     string            `json:"url" minLength:"8" maxLength:"2000" example:"https://sms.example.com/api/send?key=KEY" doc:"The address; an SMS gateway's may hold {phone}, {text} and {id} (URL-escaped) 地址"`
	Method  string            `json:"method,omitempty" enum:"GET,POST,PUT" example:"POST" doc:"SMS gateway only, default POST; robots and webhooks POST 请求方法"`
	Headers map[string]string `json:"headers,omitempty" example:"{\"Authorization\":\"Bearer KEY\"}" doc:"Headers sent with each message, e.g. an API key; stored, never shown back 请求头（保存后不再显示）"`
	Body    string            `json:"body,omitempty" maxLength:"4000" example:"{\"to\":\"{phone}\",\"content\":\"{text}\",\"ref\":\"{id}\"}" doc:"SMS body template with {phone}, {text}, {id}; JSON-escaped in a JSON body, URL-escaped in a form body 短信正文模板"`
	Secret  string            `json:"secret,omitempty" maxLength:"200" example:"SEC0123456789abcdef" doc:"DingTalk signing secret (加签), or the webhook's HMAC key; stored, never shown back 签名密钥"`
	Enabled *bool             `json:"enabled,omitempty" example:"true" doc:"Default true 启用"`
}

// NotifyChannelPatch changes a channel; kind and team stay. A secret or
// headers left out stay as they are.
type NotifyChannelPatch struct {
	Name    *string            `json:"name,omitempty" maxLength:"40" example:"村短信平台" doc:"A name 名称"`
	URL     *string            `json:"url,omitempty" minLength:"8" maxLength:"2000" example:"https://sms.example.com/api/send?key=KEY" doc:"The address 地址"`
	Method  *string            `json:"method,omitempty" enum:"GET,POST,PUT" example:"POST" doc:"SMS gateway only 请求方法"`
	Headers *map[string]string `json:"headers,omitempty" example:"{\"Authorization\":\"Bearer KEY\"}" doc:"Replaces the headers 请求头（整体替换）"`
	Body    *string            `json:"body,omitempty" maxLength:"4000" example:"{\"to\":\"{phone}\",\"content\":\"{text}\"}" doc:"SMS body template 短信正文模板"`
	Secret  *string            `json:"secret,omitempty" maxLength:"200" example:"SEC0123456789abcdef" doc:"Replaces the secret; empty removes it 签名密钥"`
	Enabled *bool              `json:"enabled,omitempty" example:"false" doc:"Pause or resume: while paused nothing is queued for it, and what was queued waits 启用或暂停"`
}

// NotifySettings are the village's quiet hours and retry limit.
type NotifySettings struct {
	QuietFrom      string `json:"quietFrom" pattern:"^([01][0-9]|2[0-3]):[0-5][0-9]$" example:"21:00" doc:"Quiet hours start, the village's time 免打扰开始"`
	QuietTo        string `json:"quietTo" pattern:"^([01][0-9]|2[0-3]):[0-5][0-9]$" example:"07:00" doc:"Quiet hours end; equal to quietFrom: none 免打扰结束"`
	UrgentOverride bool   `json:"urgentOverride" example:"true" doc:"A rain-out reaches people in quiet hours 雨天停工不受免打扰限制"`
	GiveUpMinutes  int    `json:"giveUpMinutes" minimum:"1" maximum:"10080" example:"1440" doc:"How long a message is retried before it is marked failed 重试时限（分钟）"`
}

// Delivery is one message on its way through one channel.
type Delivery struct {
	ID            int64      `json:"id" example:"17" doc:"Delivery ID 发送编号"`
	MessageID     string     `json:"messageId" example:"hg-1-42-3" doc:"Sent as Idempotency-Key and X-Huangong-Message-Id, the same on every retry 消息编号"`
	ChannelID     int64      `json:"channelId" example:"3" doc:"Channel 渠道"`
	Kind          string     `json:"kind" enum:"sms,wecom,dingtalk,webhook" example:"sms" doc:"Channel kind 渠道类型"`
	EventID       int64      `json:"eventId" example:"42" doc:"The outbox event 通知事件"`
	Event         string     `json:"event" example:"plan.updated" doc:"Event type 事件类型"`
	Audience      string     `json:"audience" enum:"household,team,cadre" example:"household" doc:"Who it is for 接收方"`
	AudienceID    int64      `json:"audienceId" example:"5" doc:"The household, team or village 接收方编号"`
	Recipient     string     `json:"recipient,omitempty" example:"13812345678" doc:"The phone, for SMS 手机号"`
	Text          string     `json:"text" example:"第一互助队 将于2026-04-25来帮您插秧（田1），计划3人。" doc:"What was sent 内容"`
	Urgent        bool       `json:"urgent" example:"false" doc:"A rain-out 紧急"`
	State         string     `json:"state" enum:"pending,delivered,failed,merged" example:"delivered" doc:"pending 待发送, delivered 已送达, failed 发送失败, merged 已并入同一条短信 状态"`
	Attempts      int        `json:"attempts" example:"1" doc:"Attempts so far 尝试次数"`
	NextAt        *time.Time `json:"nextAt,omitempty" example:"2026-04-20T23:00:00Z" doc:"When a pending message is tried next (after quiet hours or a retry delay) 下次发送时间"`
	LastError     string     `json:"lastError,omitempty" example:"HTTP 503" doc:"Why the last attempt failed 失败原因"`
	LastAttemptAt *time.Time `json:"lastAttemptAt,omitempty" example:"2026-04-20T00:00:01Z" doc:"Last attempt 最后尝试"`
	DeliveredAt   *time.Time `json:"deliveredAt,omitempty" example:"2026-04-20T00:00:01Z" doc:"Delivered 送达时间"`
	CreatedAt     time.Time  `json:"createdAt" example:"2026-04-20T00:00:00Z" doc:"Queued 生成时间"`
}

// DeliveryOf is how the API shows a delivery.
func DeliveryOf(d *store.Delivery) Delivery {
	out := Delivery{ID: d.ID, MessageID: d.MessageID, ChannelID: d.ChannelID, Kind: d.Kind, EventID: d.EventID, Event: d.Event,
		Audience: d.Audience, AudienceID: d.AudienceID, Recipient: d.Recipient, Text: d.Text, Urgent: d.Urgent, State: d.State,
		Attempts: d.Attempts, LastError: d.LastError, LastAttemptAt: d.LastAttemptAt, DeliveredAt: d.DeliveredAt, CreatedAt: d.CreatedAt}
	if d.State == store.DeliveryPending {
		next := d.NextAt
		out.NextAt = &next
	}
	return out
}

func (s *Server) addNotifyRoutes() {
	const tag = "notifications"
	huma.Register(s.api, huma.Operation{
		OperationID: "list-notify-channels", Method: http.MethodGet, Path: "/v1/notify/channels",
		Summary: "通知渠道 List the notification channels", Tags: []string{tag}, Security: secured(store.RoleCadre),
		Description: "短信网关、各队群机器人和通用回调；密钥不显示。 The village's SMS gateway, the teams' group robots and the " +
			"webhook. Secrets are never shown: a masked URL, header names and secretSet.",
		Errors: []int{401, 403, 422},
	}, func(ctx context.Context, _ *struct{}) (*ListOutput[NotifyChannel], error) {
		cs, err := s.store.ListChannels(ctx, caller(ctx).VillageID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return listOf(cs, 0, notifyChannelOf), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "create-notify-channel", Method: http.MethodPost, Path: "/v1/notify/channels",
		Summary: "配置通知渠道 Configure a notification channel", Tags: []string{tag}, Security: secured(store.RoleCadre),
		Description: "一村一个短信网关和一个通用回调，一队一个企业微信和一个钉钉机器人；只发送配置之后的通知。 One SMS gateway and one " +
			"webhook per village, one WeCom and one DingTalk robot per team (a second is 409). A channel carries the messages " +
			"of events after it was configured. SMS: an HTTP template — url, method, headers, body with {phone}, {text} " +
			"and {id}. Secrets (headers, secret, the URL's query) are stored and never shown back.",
		DefaultStatus: http.StatusCreated, Errors: []int{400, 401, 403, 409, 413, 415, 422},
	}, func(ctx context.Context, in *struct{ Body NotifyChannelInput }) (*struct{ Body NotifyChannel }, error) {
		b := in.Body
		c := &store.Channel{Kind: b.Kind, TeamID: b.TeamID, Name: b.Name, URL: b.URL, Method: b.Method, Headers: b.Headers,
			Body: b.Body, Secret: b.Secret, Enabled: b.Enabled == nil || *b.Enabled}
		c, err := s.store.CreateChannel(ctx, caller(ctx).VillageID, c)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body NotifyChannel }{Body: notifyChannelOf(c)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-notify-channel", Method: http.MethodPatch, Path: "/v1/notify/channels/{id}",
		Summary: "修改通知渠道 Change a notification channel", Tags: []string{tag}, Security: secured(store.RoleCadre),
		Description: "未填写的项保持不变（密钥和请求头也是）。 Fields left out stay, the secret and headers too; kind and team stay.",
		Errors:      []int{400, 401, 403, 404, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		Body NotifyChannelPatch
	}) (*struct{ Body NotifyChannel }, error) {
		b := in.Body
		c, err := s.store.UpdateChannel(ctx, caller(ctx).VillageID, in.ID, func(c *store.Channel) {
			set(&c.Name, b.Name)
			set(&c.URL, b.URL)
			set(&c.Method, b.Method)
			set(&c.Body, b.Body)
			set(&c.Secret, b.Secret)
			set(&c.Enabled, b.Enabled)
			if b.Headers != nil {
				c.Headers = *b.Headers
			}
		})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body NotifyChannel }{Body: notifyChannelOf(c)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "delete-notify-channel", Method: http.MethodDelete, Path: "/v1/notify/channels/{id}",
		Summary: "删除通知渠道 Remove a notification channel", Tags: []string{tag}, Security: secured(store.RoleCadre),
		Description: "渠道不再列出、不再发送；发送记录保留，未发出的消息标为失败（渠道已删除），不能重发。只想暂停请改为不启用。 " +
			"The channel is no longer listed and carries nothing new; its delivery history stays in list-deliveries, and " +
			"its waiting messages are marked failed (\"渠道已删除 channel removed\") and cannot be sent again. To pause it, set enabled false.",
		DefaultStatus: http.StatusNoContent, Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *IDPath) (*struct{}, error) {
		if err := s.store.DeleteChannel(ctx, caller(ctx).VillageID, in.ID); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{}{}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-notify-settings", Method: http.MethodGet, Path: "/v1/notify/settings",
		Summary: "通知设置 Quiet hours and retries", Tags: []string{tag}, Security: secured(store.RoleCadre),
		Errors: []int{401, 403, 422},
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body NotifySettings }, error) {
		n, err := s.store.GetNotifySettings(ctx, caller(ctx).VillageID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body NotifySettings }{Body: notifySettingsOf(n)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-notify-settings", Method: http.MethodPut, Path: "/v1/notify/settings",
		Summary: "修改通知设置 Set quiet hours and retries", Tags: []string{tag}, Security: secured(store.RoleCadre),
		Description: "免打扰时段内的短信和群消息推迟到结束时发送（多条合并为一条），早间派工单按定时发送。 Messages falling in quiet " +
			"hours (the village's time) wait until they end — a household's are folded into one SMS — except an urgent " +
			"rain-out when urgentOverride is set, and the morning job list, which goes at its cron's time.",
		Errors: []int{400, 401, 403, 413, 415, 422},
	}, func(ctx context.Context, in *struct{ Body NotifySettings }) (*struct{ Body NotifySettings }, error) {
		b := in.Body
		n, err := s.store.SetNotifySettings(ctx, caller(ctx).VillageID, &store.NotifySettings{QuietFrom: b.QuietFrom,
			QuietTo: b.QuietTo, UrgentOverride: b.UrgentOverride, GiveUpMinutes: b.GiveUpMinutes})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body NotifySettings }{Body: notifySettingsOf(n)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-deliveries", Method: http.MethodGet, Path: "/v1/notify/deliveries",
		Summary: "发送记录 List message deliveries", Tags: []string{tag}, Security: secured(store.RoleCadre),
		Description: "每条通知经每个渠道的发送状态；失败的附原因。 Each outbox event through each channel: pending (held by quiet " +
			"hours or waiting to retry), delivered, failed with the reason, or merged into one SMS. At least once: a " +
			"receiver de-duplicates on messageId.",
		Errors: []int{401, 403, 422},
	}, func(ctx context.Context, in *struct {
		PageInput
		State     string `query:"state" enum:"pending,delivered,failed,merged" example:"failed" doc:"Only this state 只看某状态"`
		Channel   int64  `query:"channel" minimum:"0" example:"3" doc:"Only this channel 只看某渠道"`
		Household int64  `query:"household" minimum:"0" example:"5" doc:"Only this household's messages 只看某户"`
	}) (*ListOutput[Delivery], error) {
		page, err := in.page()
		if err != nil {
			return nil, err
		}
		f := store.DeliveryFilter{State: in.State, ChannelID: in.Channel}
		if in.Household != 0 {
			f.Audience, f.AudienceID = store.AudienceHousehold, in.Household
		}
		rows, next, err := s.store.ListDeliveries(ctx, caller(ctx).VillageID, f, page)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return listOf(rows, next, DeliveryOf), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "retry-delivery", Method: http.MethodPost, Path: "/v1/notify/deliveries/{id}/retry",
		Summary: "重发 Send a failed message again", Tags: []string{tag}, Security: secured(store.RoleCadre),
		Description: "只能重发失败的消息，消息编号不变；免打扰时段内推迟到结束时发送。 Only a failed delivery of a channel not removed; " +
			"it keeps its messageId. In quiet hours it waits for their end, unless it is an urgent rain-out the village lets " +
			"through or the morning job list. Otherwise 409.",
		Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *IDPath) (*struct{ Body Delivery }, error) {
		d, err := s.store.RetryDelivery(ctx, caller(ctx).VillageID, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body Delivery }{Body: DeliveryOf(d)}, nil
	})
}

func notifySettingsOf(n *store.NotifySettings) NotifySettings {
	return NotifySettings{QuietFrom: n.QuietFrom, QuietTo: n.QuietTo, UrgentOverride: n.UrgentOverride, GiveUpMinutes: n.GiveUpMinutes}
}

// secretLocation reports whether a problem's location is a field that
// may carry a channel's credentials, whose value a problem must not echo.
func secretLocation(loc string) bool {
	for _, p := range []string{"body.secret", "body.headers", "body.url", "body.body"} {
		if loc == p || strings.HasPrefix(loc, p+".") || strings.HasPrefix(loc, p+"[") {
			return true
		}
	}
	return false
}
