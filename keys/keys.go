// Package keys builds every Redis key and channel name the shop uses, so that their names live in one
// place. Names are readable and typed ("product:42"); a deployment-wide prefix
// (SHOP_REDIS_KEY_PREFIX) is added by the code that talks to Redis, not here.
package keys

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
)

// Product is the cache-aside / write-through key of one product page: "product:{id}".
func Product(id int64) string { return "product:" + strconv.FormatInt(id, 10) }

// User is the cache-aside key of one user's profile: "user:{id}".
func User(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

// Listing is what a catalog listing shows besides its page: a category (empty for all), a
// sort (empty for the catalog's order) and a price range in minor units (0 for no bound).
type Listing struct {
	Category           string
	Sort               string
	MinPrice, MaxPrice int64
}

// ProductList is the key of one page of the catalog listing l:
// "list:products:{category}:{page}" (the category query-escaped) for the catalog's order
// without a price range, as before sorts existed, and
// "list:products:{category}:{page}:{sort}:{min}-{max}" otherwise (sort "" when unsorted,
// min and max in minor units, 0 for no bound). Every listing has its own key.
func ProductList(l Listing, page int) string {
	k := "list:products:" + url.QueryEscape(l.Category) + ":" + strconv.Itoa(page)
	if l.Sort == "" && l.MinPrice == 0 && l.MaxPrice == 0 {
		return k
	}
	return k + ":" + url.QueryEscape(l.Sort) + ":" + strconv.FormatInt(l.MinPrice, 10) + "-" + strconv.FormatInt(l.MaxPrice, 10)
}

// Search is the key of one page of search results: "list:search:{sha256(query)[:16]}:{page}".
// The query is hashed: it may be long and hold anything.
func Search(query string, page int) string {
	sum := sha256.Sum256([]byte(query))
	return "list:search:" + hex.EncodeToString(sum[:8]) + ":" + strconv.Itoa(page)
}

// Categories is the key of the list of categories with their product counts. (The names
// alone were cached under "list:categories" before the counts; that key is no longer
// written.)
const Categories = "list:categories:counts"

// Featured is the key of the home page's featured products.
const Featured = "home:featured"

// Bestsellers is the key of the home page's bestsellers panel.
const Bestsellers = "home:bestsellers"

// Lease is the lease key of a cached key (stampede and stale-set protection):
// "lease:{<full key>}". Its hash tag is the full value key (deployment prefix included), so
// the lease and the value sit in one cluster slot and one script can touch both.
func Lease(fullKey string) string { return "lease:{" + fullKey + "}" }

// Cart is the Redis hash of one cart: "cart:{id}", field = product id, value = quantity.
func Cart(cartID string) string { return "cart:" + cartID }

// SessionPrefix starts every session key: "session:{token}".
const SessionPrefix = "session:"

// UserSessions is the set of the session tokens of one signed-in user:
// "sessions:user:{id}". A password change ends every session in it.
func UserSessions(userID int64) string { return "sessions:user:" + strconv.FormatInt(userID, 10) }

// Session is the key of one session: "session:{token}".
func Session(token string) string { return SessionPrefix + token }

// ViewsPending is the write-behind buffer of product page views: a hash, field = product id
// (or a claimed batch), value = views not yet in Postgres.
const ViewsPending = "views:pending"

// ViewsTotal is the hash of cached view totals (flushed to Postgres), field = product id.
const ViewsTotal = "views:total"

// LeaderboardTag is the hash tag every leaderboard key shares, so that the scripts that
// touch several boards at once run on one cluster slot.
const LeaderboardTag = "{bestsellers}"

// Leaderboard is a key of the bestseller boards: "lb:{bestsellers}:" and the parts joined by
// ":" — e.g. Leaderboard("all"), Leaderboard("day", "2026-11-29"), Leaderboard("events")
// (the pub/sub channel), Leaderboard("top") (the cached top list).
func Leaderboard(parts ...string) string {
	return "lb:" + LeaderboardTag + ":" + strings.Join(parts, ":")
}

// InvalidationChannel is the pub/sub channel of the invalidation bus: every instance
// publishes the keys it changed there and evicts from its near cache what others publish.
const InvalidationChannel = "cache:invalidations"

// ExpiredChannel is the keyspace-notification channel of keys expiring in database db
// ("__keyevent@<db>__:expired"; Redis names it, not us).
func ExpiredChannel(db int) string { return "__keyevent@" + strconv.Itoa(db) + "__:expired" }

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

// LabTag is the hash tag of the Lab's figures, so that one MGET reads every instance's
// figures on cluster mode enabled too.
const LabTag = "{figures}"

// LabFigures is the key of one instance's figures, rewritten every second with a short TTL:
// "lab:{figures}:instance:<instance>" (a JSON document).
func LabFigures(instance string) string { return "lab:" + LabTag + ":instance:" + instance }

// LabInstances is the sorted set of the instances that published figures, scored by the
// time of their last publication (Unix ms): "lab:{figures}:instances".
const LabInstances = "lab:" + LabTag + ":instances"

// LabExperimentTag is the hash tag of the Lab's experiment keys.
const LabExperimentTag = "{experiments}"

// LabLock is the lock that lets one experiment run at a time in a deployment:
// "lab:{experiments}:lock" (value: the run's id; TTL: the experiment's bound).
const LabLock = "lab:" + LabExperimentTag + ":lock"

// LabRestore is the hash of the prices an experiment changed, product id → the price to put
// back, written before the change and emptied once restored: what a run that died (kill -9)
// left is restored by the next run or the next start of any instance.
const LabRestore = "lab:" + LabExperimentTag + ":restore"

// LabRun is the state of the last run of one strategy's experiment, progress and result:
// "lab:{experiments}:run:<strategy>" (a JSON document, kept 30 days).
func LabRun(strategy string) string { return "lab:" + LabExperimentTag + ":run:" + strategy }

// LabProbe is the question an experiment asks every instance (find this session, watch this
// key): "lab:{experiments}:probe" (JSON, TTL of seconds); each instance reads it once a
// second with its figures.
const LabProbe = "lab:" + LabExperimentTag + ":probe"

// LabAnswers is the hash of the instances' answers to one probe:
// "lab:{experiments}:answers:<run>", field = instance, value = JSON.
func LabAnswers(run string) string { return "lab:" + LabExperimentTag + ":answers:" + run }

// LabKey is a key the Lab's experiments write their own values under (never a key of the
// shop's data): "lab:data:<parts joined by ':'>", e.g. LabKey("stampede", "3").
func LabKey(parts ...string) string { return "lab:data:" + strings.Join(parts, ":") }

// LabRunLimit is the key of the rate limit on starting the Lab's open experiments from one
// client address: "ratelimit:lab:ip:{client}", client as for LoginClientLimit.
func LabRunLimit(client string) string { return "ratelimit:lab:ip:" + client }
