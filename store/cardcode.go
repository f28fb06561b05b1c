package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
)

// A card code is the short link's part a person reads aloud and types on
// a phone: ten characters of Crockford's base32 (50 random bits, no I, L,
// O or U to mistake), printed in groups as 7KQ-M4XP-2RT. Case and dashes
// do not matter when it is typed, and O, I and L are read as 0, 1 and 1.
//
// Only its hash is stored, beside the token it belongs to, with the
// token's secret sealed (AES-GCM) under a key derived from the code: the
// short link signs in with the token's own secret, so the session cookie,
// a revoke and an expiry work as for the long link, and the database
// alone never gives the secret back.
const (
	cardCodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	CardCodeLen      = 10
)

// FormatCardCode groups a code for reading: 7KQ-M4XP-2RT.
func FormatCardCode(code string) string {
	if len(code) != CardCodeLen {
		return code
	}
	return code[:3] + "-" + code[3:7] + "-" + code[7:]
}

// normalizeCardCode is the code as typed, canonical: upper case, no dashes
// or spaces, look-alikes mapped; false when it cannot be a code.
func normalizeCardCode(typed string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch r {
		case '-', ' ':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if !strings.ContainsRune(cardCodeAlphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	return b.String(), b.Len() == CardCodeLen
}

func cardCodeHash(code string) []byte {
	sum := sha256.Sum256([]byte("huangong card code v1 " + code))
	return sum[:]
}

func cardCodeAEAD(code string) cipher.AEAD {
	key := sha256.Sum256([]byte("huangong card seal v1 " + code))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// newCardCode mints a code for a card whose token has this secret: the
// code, its hash and the sealed secret.
func newCardCode(secret string) (code string, hash, seal []byte, err error) {
	var raw [CardCodeLen]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, nil, fmt.Errorf("card code: %w", err)
	}
	for i, b := range raw {
		raw[i] = cardCodeAlphabet[b&31] // 256 is a multiple of 32: uniform
	}
	code = string(raw[:])
	aead := cardCodeAEAD(code)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, nil, fmt.Errorf("card code: %w", err)
	}
	return code, cardCodeHash(code), aead.Seal(nonce, nonce, []byte(secret), nil), nil
}

// CardSecret returns the secret of the live token whose card carries this
// code (typed in any case, with or without dashes). Anything else is
// EUNAUTHORIZED, as Authenticate's: a code that is no card's, or
// malformed; a revoked or expired card's is also ErrTokenEnded.
func (s *Store) CardSecret(ctx context.Context, typed string) (string, error) {
	unauthorized := Errorf(EUNAUTHORIZED, "登录码无效 the card's code is not valid")
	code, ok := normalizeCardCode(typed)
	if !ok {
		return "", unauthorized
	}
	hash := cardCodeHash(code)
	t := new(Token)
	err := s.db.NewSelect().Model(t).Column("short_hash", "short_seal", "revoked_at", "expires_at").
		Where("short_hash = ?", hash).Scan(ctx)
	if err != nil {
		if ErrorCode(translate(err, "token")) == ENOTFOUND {
			return "", unauthorized
		}
		return "", translate(err, "token")
	}
	if subtle.ConstantTimeCompare(t.ShortHash, hash) != 1 {
		return "", unauthorized
	}
	if !t.Live(s.Now().UTC()) {
		return "", &endedError{unauthorized}
	}
	aead := cardCodeAEAD(code)
	n := aead.NonceSize()
	if len(t.ShortSeal) < n {
		return "", unauthorized
	}
	secret, err := aead.Open(nil, t.ShortSeal[:n], t.ShortSeal[n:], nil)
	if err != nil {
		return "", unauthorized
	}
	return string(secret), nil
}
