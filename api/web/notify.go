package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"huangong/api"
	"huangong/store"
)

// notifyView is the cadre's page of notification channels: where messages
// go, the quiet hours, and the messages that did not get through.
type notifyView struct {
	Channels  []api.NotifyChannel
	Teams     []teamOption
	TeamNames map[int64]string
	Settings  api.NotifySettings
	Failed    []api.Delivery
	Live      map[int64]bool // the channels not removed: a removed one's messages cannot be sent again
	Pending   int
	Flash     string
	Error     string
}

type teamOption struct {
	ID   int64
	Name string
}

// failedShown bounds the failed messages the page lists.
const failedShown = 20

func (p *Pages) notifyPage(c *call) error {
	return p.showNotify(c, http.StatusOK, "")
}

func (p *Pages) showNotify(c *call, status int, errText string) error {
	v := &notifyView{Error: errText}
	if k := c.r.URL.Query().Get("done"); k == "added" || k == "removed" || k == "retried" || k == "saved" {
		v.Flash = text(c.lang, "notify.done."+k)
	}
	var chans api.ListBody[api.NotifyChannel]
	if err := p.callAPI(c, http.MethodGet, "/v1/notify/channels", nil, &chans); err != nil {
		return err
	}
	v.Channels = chans.Items
	v.Live = map[int64]bool{}
	for _, ch := range v.Channels {
		v.Live[ch.ID] = true
	}
	if err := p.callAPI(c, http.MethodGet, "/v1/notify/settings", nil, &v.Settings); err != nil {
		return err
	}
	// list-deliveries pages oldest first; the board wants the newest.
	failed, err := p.store.NewestDeliveries(c.ctx(), c.v.ID, store.DeliveryFilter{State: store.DeliveryFailed}, failedShown)
	if err != nil {
		return err
	}
	for _, d := range failed {
		v.Failed = append(v.Failed, api.DeliveryOf(d))
	}
	ds, _, err := p.store.ListDeliveries(c.ctx(), c.v.ID, store.DeliveryFilter{State: store.DeliveryPending}, store.Page{Limit: store.MaxPageLimit})
	if err != nil {
		return err
	}
	v.Pending = len(ds)
	teams, err := p.teamNames(c)
	if err != nil {
		return err
	}
	v.TeamNames = teams
	for id, name := range teams {
		v.Teams = append(v.Teams, teamOption{ID: id, Name: name})
	}
	sortTeams(v.Teams)
	p.render(c, status, "notify", "notify.title", v)
	return nil
}

func sortTeams(ts []teamOption) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].ID < ts[j-1].ID; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// notifyError shows the page again with the API's refusal.
func (p *Pages) notifyError(c *call, err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return p.showNotify(c, ae.Status, ae.Detail)
	}
	return err
}

// notifyAdd configures a channel through create-notify-channel. Headers
// are typed one a line, "Name: value".
func (p *Pages) notifyAdd(c *call) error {
	in := map[string]any{"kind": c.r.PostFormValue("kind"), "url": strings.TrimSpace(c.r.PostFormValue("url"))}
	if n := strings.TrimSpace(c.r.PostFormValue("name")); n != "" {
		in["name"] = n
	}
	if t := c.r.PostFormValue("team"); t != "" && t != "0" {
		id, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return p.showNotify(c, http.StatusUnprocessableEntity, text(c.lang, "notify.badteam"))
		}
		in["teamId"] = id
	}
	if in["kind"] == store.ChannelSMS {
		in["method"] = c.r.PostFormValue("method")
		if b := strings.TrimSpace(c.r.PostFormValue("body")); b != "" {
			in["body"] = b
		}
	}
	if s := strings.TrimSpace(c.r.PostFormValue("secret")); s != "" {
		in["secret"] = s
	}
	headers := map[string]string{}
	for _, line := range strings.Split(c.r.PostFormValue("headers"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return p.showNotify(c, http.StatusUnprocessableEntity, text(c.lang, "notify.badheader"))
		}
		headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if len(headers) > 0 {
		in["headers"] = headers
	}
	if err := p.callAPI(c, http.MethodPost, "/v1/notify/channels", in, nil); err != nil {
		return p.notifyError(c, err)
	}
	redirectNotify(c, "added")
	return nil
}

func (p *Pages) notifyRemove(c *call) error {
	return p.notifyOnID(c, http.MethodDelete, "/v1/notify/channels/%d", "removed")
}

func (p *Pages) notifyRetry(c *call) error {
	return p.notifyOnID(c, http.MethodPost, "/v1/notify/deliveries/%d/retry", "retried")
}

// notifyOnID sends a form's post to the operation at path, which names
// the record of the page's {id}, and shows the page again saying done.
func (p *Pages) notifyOnID(c *call, method, path, done string) error {
	id, err := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	if err != nil {
		return p.deny(c)
	}
	if err := p.callAPI(c, method, fmt.Sprintf(path, id), nil, nil); err != nil {
		return p.notifyError(c, err)
	}
	redirectNotify(c, done)
	return nil
}

func (p *Pages) notifySettings(c *call) error {
	giveUp, err := strconv.Atoi(strings.TrimSpace(c.r.PostFormValue("giveUp")))
	if err != nil {
		return p.showNotify(c, http.StatusUnprocessableEntity, text(c.lang, "notify.badgiveup"))
	}
	in := map[string]any{"quietFrom": c.r.PostFormValue("from"), "quietTo": c.r.PostFormValue("to"),
		"urgentOverride": c.r.PostFormValue("urgent") == "1", "giveUpMinutes": giveUp}
	if err := p.callAPI(c, http.MethodPut, "/v1/notify/settings", in, nil); err != nil {
		return p.notifyError(c, err)
	}
	redirectNotify(c, "saved")
	return nil
}

func redirectNotify(c *call, done string) {
	http.Redirect(c.w, c.r, "/board/notify?"+url.Values{"done": {done}}.Encode(), http.StatusSeeOther)
}
