// Package keys builds every Redis key the shop's caches use, so that their names live in one
// place. Names are readable and typed ("product:42"); a deployment-wide prefix
// (SHOP_REDIS_KEY_PREFIX) is added by the code that talks to Redis, not here.
package keys

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
)

// Product is the cache-aside / write-through key of one product page: "product:{id}".
func Product(id int64) string { return "product:" + strconv.FormatInt(id, 10) }

// User is the cache-aside key of one user's profile: "user:{id}".
func User(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

// ProductList is the key of one page of the catalog listing, optionally of one category:
// "list:products:{category}:{page}" (the category query-escaped).
func ProductList(category string, page int) string {
	return "list:products:" + url.QueryEscape(category) + ":" + strconv.Itoa(page)
}

// Search is the key of one page of search results: "list:search:{sha256(query)[:16]}:{page}".
// The query is hashed: it may be long and hold anything.
func Search(query string, page int) string {
	sum := sha256.Sum256([]byte(query))
	return "list:search:" + hex.EncodeToString(sum[:8]) + ":" + strconv.Itoa(page)
}

// Categories is the key of the list of categories.
const Categories = "list:categories"

// Featured is the key of the home page's featured products.
const Featured = "home:featured"

// Bestsellers is the key of the home page's bestsellers panel.
const Bestsellers = "home:bestsellers"

// LoginAccountLimit is the key of the sign-in rate limit of one account:
// "ratelimit:login:account:{sha256(email), hex}". The e-mail, normalised by the caller, is
// hashed so that no address sits in Redis in the clear and any address makes a short key.
func LoginAccountLimit(email string) string {
	sum := sha256.Sum256([]byte(email))
	return "ratelimit:login:account:" + hex.EncodeToString(sum[:])
}

// LoginClientLimit is the key of the sign-in rate limit of one client address:
// "ratelimit:login:ip:{client}", client being an IPv4 address or an IPv6 /64 prefix.
func LoginClientLimit(client string) string { return "ratelimit:login:ip:" + client }

// SignupClientLimit is the key of the sign-up rate limit of one client address:
// "ratelimit:signup:ip:{client}", client as for LoginClientLimit.
func SignupClientLimit(client string) string { return "ratelimit:signup:ip:" + client }
