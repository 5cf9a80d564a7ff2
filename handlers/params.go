package handlers

import (
	"fmt"

	"github.com/shopcache/shop/catalog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	pageSize = 24 // products per listing page
	// maxPage bounds page numbers so an offset can never overflow; no listing comes near it.
	maxPage = 100_000
	// maxQueryRunes bounds a search; longer input is refused rather than cut.
	maxQueryRunes = 200
	// maxCategoryRunes bounds a category name.
	maxCategoryRunes = 100
)

// query parses the request's query string strictly: malformed escapes are an error, not
// silently dropped as url.URL.Query does.
func query(rawQuery string) (url.Values, error) {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, badRequest("The address has a malformed query string.")
	}
	return values, nil
}

// paramNames are the words error messages use for query parameters.
var paramNames = map[string]string{"q": "search", "category": "category name"}

// text returns parameter name, checked to be text — valid UTF-8 without control characters
// such as NUL, which Postgres refuses — of at most maxRunes characters, spaces trimmed.
func text(values url.Values, name string, maxRunes int) (string, error) {
	v := strings.TrimSpace(values.Get(name))
	what := paramNames[name]
	if what == "" {
		what = name
	}
	if !validText(v) {
		return "", badRequest(fmt.Sprintf("The %s holds characters that are not text. Please type it again.", what))
	}
	if n := utf8.RuneCountInString(v); n > maxRunes {
		return "", badRequest(fmt.Sprintf("The %s is %d characters long; the most is %d.", what, n, maxRunes))
	}
	return v, nil
}

// validText reports whether s is valid UTF-8 without control characters other than tab,
// line feed and carriage return (a NUL would make Postgres refuse the query).
func validText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return false
		}
	}
	return true
}

// pageNumber returns the page parameter: 1 when absent, else a whole number from 1 to maxPage.
func pageNumber(values url.Values) (int, error) {
	v := values.Get("page")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPage {
		return 0, badRequest(fmt.Sprintf("The page number must be a whole number from 1 to %d.", maxPage))
	}
	return n, nil
}

// listingQuery reads the query string of a listing: the text parameter name (at most
// maxRunes characters) and the page number.
func listingQuery(r *http.Request, name string, maxRunes int) (string, int, error) {
	values, err := query(r.URL.RawQuery)
	if err != nil {
		return "", 0, err
	}
	v, err := text(values, name, maxRunes)
	if err != nil {
		return "", 0, err
	}
	page, err := pageNumber(values)
	return v, page, err
}

var idPattern = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)

// productID parses a product id from a path: a positive decimal number without sign or
// leading zeros that fits in int64.
func productID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if !idPattern.MatchString(s) || err != nil {
		return 0, badRequest("A product id is a positive whole number, like /products/1.")
	}
	return id, nil
}

// pager is the pagination bar of a listing: previous and next, the first and last pages
// and the pages around the current one, numbered.
type pager struct {
	Number, Last int
	Prev, Next   string // links; empty at either end
	Pages        []pageLink
}

// pageLink is one entry of the numbered pages; Gap marks an elision ("…") between numbers.
type pageLink struct {
	Number  int
	URL     string
	Current bool
	Gap     bool
}

// pagerWindow is how many numbered pages show on either side of the current one.
const pagerWindow = 2

// lastPage is the number of the last page of total items, at least 1.
func lastPage(total int) int { return max(1, (total+pageSize-1)/pageSize) }

// newPager checks that page exists among total items and returns its bar; base holds the
// other query parameters of the links.
func newPager(path string, base url.Values, page, total int) (pager, error) {
	last := lastPage(total)
	if page > last {
		return pager{}, notFound(fmt.Sprintf("There is no page %d here; the last page is %d.", page, last))
	}
	link := func(n int) string {
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		if n > 1 {
			q.Set("page", strconv.Itoa(n))
		}
		if len(q) == 0 {
			return path
		}
		return path + "?" + q.Encode()
	}
	p := pager{Number: page, Last: last}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page < last {
		p.Next = link(page + 1)
	}
	show := map[int]bool{1: true, last: true}
	for n := max(1, page-pagerWindow); n <= min(last, page+pagerWindow); n++ {
		show[n] = true
	}
	numbers := make([]int, 0, len(show))
	for n := range show {
		numbers = append(numbers, n)
	}
	sort.Ints(numbers)
	for i, n := range numbers {
		if i > 0 && n > numbers[i-1]+1 {
			p.Pages = append(p.Pages, pageLink{Gap: true})
		}
		p.Pages = append(p.Pages, pageLink{Number: n, URL: link(n), Current: n == page})
	}
	return p, nil
}

// sortNames are the sort menu's labels.
var sortNames = map[catalog.Sort]string{
	catalog.SortDefault:     "Featured",
	catalog.SortBestselling: "Bestselling",
	catalog.SortPriceAsc:    "Price, low to high",
	catalog.SortPriceDesc:   "Price, high to low",
	catalog.SortName:        "Name, A to Z",
	catalog.SortNewest:      "Newest",
}

// listingSort returns the sort parameter: empty for the catalog's order, else one of
// catalog.Sorts; anything else is a bad request that names the valid ones.
func listingSort(values url.Values) (catalog.Sort, error) {
	s := catalog.Sort(values.Get("sort"))
	if !s.Valid() {
		valid := make([]string, 0, len(catalog.Sorts))
		for _, v := range catalog.Sorts[1:] {
			valid = append(valid, string(v))
		}
		return "", badRequest(fmt.Sprintf("Sort by one of %s.", strings.Join(valid, ", ")))
	}
	return s, nil
}

// priceParam returns price parameter name ("min" or "max") in minor units: 0 when absent
// or empty, else a number like 5, 5.5 or 5.50 (the editor's pricePattern, a leading "£"
// allowed) of at most maxPriceMinor.
func priceParam(values url.Values, name string) (int64, error) {
	v := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(values.Get(name)), "£"))
	if v == "" {
		return 0, nil
	}
	bad := badRequest(fmt.Sprintf("The %s price must be an amount like 5 or 12.50.", map[string]string{"min": "lowest", "max": "highest"}[name]))
	if !pricePattern.MatchString(v) {
		return 0, bad
	}
	m := pricePattern.FindStringSubmatch(v)
	w, _ := strconv.ParseInt(m[1], 10, 64)
	f, _ := strconv.ParseInt((m[2] + "00")[:2], 10, 64)
	minor := w*100 + f
	if minor > maxPriceMinor {
		return 0, bad
	}
	return minor, nil
}
