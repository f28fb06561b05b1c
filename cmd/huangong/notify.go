package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	apiclient "huangong/api/client"
)

// notifyCmd is a cadre's configuration of where notifications go: the
// SMS gateway, the teams' group robots, the webhook, quiet hours, and what
// was delivered.
func notifyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErrorf("用法 usage: huangong notify channels|add|remove|deliveries|retry|quiet …")
	}
	switch sub, args := args[0], args[1:]; sub {
	case "channels":
		return notifyChannels(ctx, args, stdout, stderr)
	case "add":
		return notifyAdd(ctx, args, stdout, stderr)
	case "remove":
		return notifyRemove(ctx, args, stdout, stderr)
	case "deliveries":
		return notifyDeliveries(ctx, args, stdout, stderr)
	case "retry":
		return notifyRetry(ctx, args, stdout, stderr)
	case "quiet":
		return notifyQuiet(ctx, args, stdout, stderr)
	default:
		return usageErrorf("未知命令 unknown command notify %s; one of channels, add, remove, deliveries, retry, quiet", sub)
	}
}

var channelKindNames = map[string]string{"sms": "短信 SMS", "wecom": "企业微信 WeCom", "dingtalk": "钉钉 DingTalk", "webhook": "回调 webhook"}

func notifyChannels(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := newClientFlags("notify channels").open(args, stdout, stderr)
	if err != nil {
		return err
	}
	chans, raw, err := listAll[apiclient.NotifyChannel](c, func(*string) (*http.Response, error) {
		return c.api.ListNotifyChannels(ctx)
	})
	if err != nil {
		return err
	}
	return c.printList(raw, len(chans), "没有通知渠道 no channels", func() *table { return channelTable(chans...) })
}

func channelTable(chans ...apiclient.NotifyChannel) *table {
	t := newTable("编号 ID", "类型 Kind", "队 Team", "名称 Name", "地址 URL", "密钥 Secret", "启用 Enabled")
	for _, ch := range chans {
		team := "-"
		if ch.TeamId != nil {
			team = itoa64(*ch.TeamId)
		}
		secret := "-"
		if ch.SecretSet {
			secret = "已设置 set"
		}
		enabled := "是 yes"
		if !ch.Enabled {
			enabled = "否 no"
		}
		t.add(itoa64(ch.Id), named(channelKindNames, string(ch.Kind)), team, ch.Name, ch.Url, secret, enabled)
	}
	return t
}

// headerFlags collects repeated --header K=V.
type headerFlags map[string]string

func (h headerFlags) String() string { return "" }
func (h headerFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("--header wants NAME=VALUE, not %q", v)
	}
	h[strings.TrimSpace(k)] = val
	return nil
}

func notifyAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("notify add")
	kind := f.fs.String("kind", "", "渠道类型 sms, wecom, dingtalk or webhook (required)")
	url := f.fs.String("url", "", "地址 the gateway's or robot's URL (required)")
	team := f.fs.Int64("team", 0, "互助队 the robot's team (wecom, dingtalk)")
	name := f.fs.String("name", "", "名称 a name")
	method := f.fs.String("method", "", "请求方法 SMS only: GET, POST (default) or PUT")
	body := f.fs.String("body", "", `短信正文模板 SMS body template, e.g. {"to":"{phone}","content":"{text}"}`)
	secretEnv := f.fs.String("secret-env", "", "从环境变量读取签名密钥 read the DingTalk/webhook secret from this environment variable (keeps it out of the process list)")
	headers := headerFlags{}
	f.fs.Var(headers, "header", "请求头 NAME=VALUE, repeatable (e.g. Authorization=Bearer KEY)")
	if err := f.parseNone(args, stdout); err != nil {
		return err
	}
	if *kind == "" || *url == "" {
		return usageErrorf("用法 usage: huangong notify add --kind sms|wecom|dingtalk|webhook --url URL [--team ID] [--method M --header K=V … --body T] [--secret-env VAR]")
	}
	in := apiclient.NotifyChannelInput{Kind: apiclient.NotifyChannelInputKind(*kind), Url: *url, TeamId: nonZero(team),
		Name: nonZero(name), Method: enumOf[apiclient.NotifyChannelInputMethod](strings.ToUpper(*method)), Body: nonZero(body)}
	if len(headers) > 0 {
		h := map[string]string(headers)
		in.Headers = &h
	}
	if *secretEnv != "" {
		s := os.Getenv(*secretEnv)
		if s == "" {
			return usageErrorf("环境变量%[1]s为空 the environment variable %[1]s is empty", *secretEnv)
		}
		in.Secret = &s
	}
	c, err := f.connect(stdout, stderr)
	if err != nil {
		return err
	}
	resp, err := c.api.CreateNotifyChannel(ctx, in)
	ch, raw, err := call[apiclient.NotifyChannel](c, resp, err)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(raw)
	}
	return channelTable(*ch).write(stdout)
}

func notifyRemove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, id, err := openWithID("notify remove", args, stdout, stderr)
	if err != nil {
		return err
	}
	resp, err := c.api.DeleteNotifyChannel(ctx, id)
	if _, _, err := call[struct{}](c, resp, err); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "已删除通知渠道 channel %d removed\n", id)
	return nil
}

// openWithID parses a command that takes one record ID and connects.
func openWithID(name string, args []string, stdout, stderr io.Writer) (*conn, int64, error) {
	f := newClientFlags(name)
	pos, err := f.parse(args, stdout)
	if err != nil {
		return nil, 0, err
	}
	id, err := oneID(name, "ID", pos)
	if err != nil {
		return nil, 0, err
	}
	c, err := f.connect(stdout, stderr)
	return c, id, err
}

var deliveryStateNames = map[string]string{"pending": "待发送 pending", "delivered": "已送达 delivered", "failed": "失败 failed", "merged": "已合并 merged"}

func notifyDeliveries(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("notify deliveries")
	state := f.fs.String("state", "", "状态 only this state: pending, delivered, failed, merged")
	household := f.fs.Int64("household", 0, "只看某户 only this household's messages")
	channel := f.fs.Int64("channel", 0, "只看某渠道 only this channel")
	c, err := f.open(args, stdout, stderr)
	if err != nil {
		return err
	}
	params := &apiclient.ListDeliveriesParams{State: enumOf[apiclient.ListDeliveriesParamsState](*state),
		Household: nonZero(household), Channel: nonZero(channel)}
	ds, raw, err := listAll[apiclient.Delivery](c, func(cursor *string) (*http.Response, error) {
		params.Cursor = cursor
		return c.api.ListDeliveries(ctx, params)
	})
	if err != nil {
		return err
	}
	return c.printList(raw, len(ds), "没有发送记录 no deliveries", func() *table {
		t := newTable("编号 ID", "消息 Message", "渠道 Channel", "接收 To", "状态 State", "次数 Tries", "原因 Reason", "内容 Text")
		for _, d := range ds {
			to := string(d.Audience) + " " + itoa64(d.AudienceId)
			if d.Recipient != nil && *d.Recipient != "" {
				to = *d.Recipient
			}
			reason := ""
			if d.LastError != nil {
				reason = *d.LastError
			}
			state := named(deliveryStateNames, string(d.State))
			if d.NextAt != nil {
				state += " " + d.NextAt.Format("01-02 15:04Z")
			}
			text := []rune(d.Text)
			if len(text) > 30 {
				text = append(text[:30], '…')
			}
			t.add(itoa64(d.Id), d.MessageId, itoa64(d.ChannelId)+" "+named(channelKindNames, string(d.Kind)), to, state,
				itoa64(d.Attempts), reason, string(text))
		}
		return t
	})
}

func notifyRetry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, id, err := openWithID("notify retry", args, stdout, stderr)
	if err != nil {
		return err
	}
	resp, err := c.api.RetryDelivery(ctx, id)
	d, raw, err := call[apiclient.Delivery](c, resp, err)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(raw)
	}
	fmt.Fprintf(stdout, "将重发 delivery %d will be sent again as %s\n", d.Id, d.MessageId)
	return nil
}

func notifyQuiet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("notify quiet")
	from := f.fs.String("from", "21:00", "免打扰开始 quiet hours start, the village's time")
	to := f.fs.String("to", "07:00", "免打扰结束 quiet hours end (equal to --from: none)")
	urgent := f.fs.Bool("urgent-override", true, "雨天停工不受限 a rain-out goes out in quiet hours")
	giveUp := f.fs.Int64("give-up", 1440, "重试时限（分钟） minutes a message is retried before it is marked failed")
	c, err := f.open(args, stdout, stderr)
	if err != nil {
		return err
	}
	resp, err := c.api.UpdateNotifySettings(ctx, apiclient.NotifySettings{QuietFrom: *from, QuietTo: *to,
		UrgentOverride: *urgent, GiveUpMinutes: *giveUp})
	s, raw, err := call[apiclient.NotifySettings](c, resp, err)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(raw)
	}
	fmt.Fprintf(stdout, "免打扰 quiet hours %s–%s；雨天停工可打扰 urgent override %v；重试 %d 分钟 give up after %d min\n",
		s.QuietFrom, s.QuietTo, s.UrgentOverride, s.GiveUpMinutes, s.GiveUpMinutes)
	return nil
}
