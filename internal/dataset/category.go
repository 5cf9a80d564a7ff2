package dataset

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Other is the category of a default-data-set product that no rule of categoryRules places.
const Other = "other"

// categoryRules derive the categories of the default data set (online-retail), whose source
// has none, from the product names. The rule: a name's words are upper-cased and split at
// anything that is not a letter, digit or apostrophe ("T-LIGHT" is "T" and "LIGHT"); the
// first rule, in this order, that has one of the name's words — or one of its two-word
// phrases, written with one space — gives the category; a name that no rule matches is
// Other. Every product is thus in exactly one category. The order settles overlaps: a
// Christmas candle is Christmas, a lunch bag is a bag, a garden sign is a sign.
var categoryRules = []struct {
	category string
	words    []string
}{
	{"christmas", []string{"CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "SNOWFLAKE",
		"SNOWFLAKES", "SNOWMAN", "NATIVITY", "BAUBLE", "BAUBLES", "CRACKER", "CRACKERS",
		"STOCKING", "TINSEL", "ELF", "YULETIDE", "FATHER CHRISTMAS", "GINGERBREAD"}},
	{"jewellery", []string{"NECKLACE", "NECKL", "EARRINGS", "EARRING", "BRACELET",
		"RING", "RINGS", "PENDANT", "BROOCH", "BANGLE", "CHOKER", "HAIRCLIP", "HAIRCLIPS",
		"HAIR", "DIAMANTE", "BEADS", "BEAD", "CHARM", "CHARMS", "JEWELLERY", "TIARA",
		"HAIRBAND", "HAIRGRIP", "BLING", "AMETHYST", "MURANO", "SLIDE"}},
	{"candles and lights", []string{"CANDLE", "CANDLES", "T LIGHT", "T LIGHTS", "TEA LIGHT",
		"TEALIGHT", "TEALIGHTS", "LANTERN", "LANTERNS", "LIGHT", "LIGHTS", "LAMP", "LAMPSHADE",
		"CANDLEHOLDER", "CANDLESTICK", "INCENSE", "LED", "CHANDELIER", "NIGHTLIGHT", "TORCH",
		"OIL BURNER", "WICK", "SCENT", "SCENTED", "FRAGRANCE"}},
	{"signs", []string{"SIGN", "SIGNS", "PLAQUE", "PLAQUES", "CHALKBOARD", "BLACKBOARD"}},
	{"bags", []string{"BAG", "BAGS", "SHOPPER", "HANDBAG", "PURSE", "PURSES", "WALLET", "TOTE",
		"BACKPACK", "RUCKSACK", "SATCHEL", "HOLDALL", "WASHBAG", "LUGGAGE"}},
	{"garden", []string{"GARDEN", "GARDENERS", "GARDENING", "PLANT", "PLANTER", "PLANTERS",
		"FLOWER POT", "WATERING", "BIRD FEEDER", "FEEDER", "BIRDHOUSE", "DOVECOTE", "HAMMOCK",
		"PARASOL", "SEED", "SEEDS", "TROWEL", "OUTDOOR", "NESTING", "WINDMILL", "HERB",
		"GREENHOUSE", "BIRD TABLE", "PICNIC", "UMBRELLA", "WELLY", "WELLIES", "BEACH"}},
	{"toys and games", []string{"TOY", "TOYS", "GAME", "GAMES", "JIGSAW", "PUZZLE", "DOLL",
		"DOLLS", "MARBLES", "SKITTLES", "PLAYHOUSE", "DOMINOES", "PLAYING CARDS", "TEDDY",
		"SNAP", "BINGO", "SNAKES", "CROSSES", "KITE", "SOLDIER", "SOLDIERS", "SPINNING", "FELTCRAFT",
		"BUBBLES", "KIDS", "CHILDS", "CHILDRENS", "CHILDREN'S", "BABY", "RATTLE", "SOFT",
		"PUPPET", "TRAIN", "BALLOONS", "BALLOON", "MAGIC",
		"PIRATE", "DINOSAUR", "CRAYONS", "COLOURING", "MONEY BANK"}},
	{"stationery and cards", []string{"CARD", "CARDS", "NOTEBOOK", "NOTEBOOKS", "PEN", "PENS",
		"PENCIL", "PENCILS", "WRAP", "PAPER", "STICKER", "STICKERS", "TAPE", "ENVELOPE",
		"ENVELOPES", "SKETCHBOOK", "CALENDAR", "DIARY", "ERASER", "ERASERS", "RUBBER", "RULER",
		"STAMP", "STAMPS", "TAG", "TAGS", "BOOK", "JOURNAL", "RIBBON", "RIBBONS", "CRAFT",
		"SCRAP", "NOTELETS", "MEMO", "POSTCARD", "POSTCARDS", "INVITES", "LABELS", "CLIPS",
		"MAGNETS", "MAGNET", "POSTER", "STATIONERY", "NOTEPAD", "BOOKMARK", "GIFT WRAP",
		"TISSUE", "CONFETTI", "DRAWING", "MARKER", "CHALK", "SEWING", "KNITTING", "BUTTONS"}},
	{"kitchen and dining", []string{"KITCHEN", "MUG", "MUGS", "CUP", "CUPS", "SAUCER",
		"TEACUP", "PLATE", "PLATES", "BOWL", "BOWLS", "CAKE", "CAKES", "CAKESTAND", "TIN",
		"TINS", "JAR", "JARS", "NAPKIN", "NAPKINS", "CUTLERY", "SPOON", "SPOONS", "BAKING",
		"LUNCH", "TEA", "COFFEE", "APRON", "TRAY", "JUG", "TOWEL", "TOWELS", "PANTRY",
		"RECIPE", "JELLY", "MOULD", "MOULDS", "CASES", "DOILY", "DOILIES", "STRAWS",
		"EGG CUP", "CHOPSTICKS", "TEAPOT", "BREAD", "BUTTER", "SUGAR", "MILK", "BEAKER",
		"PLACEMATS", "PLACEMAT", "COASTER", "COASTERS", "LADLE", "GLOVE", "FRYING", "PAN",
		"CUTTER", "CUTTERS", "BISCUIT", "BOTTLE", "GLASS", "GLASSES", "TUMBLER", "DISH",
		"DISHES", "CUTTING", "BOARD", "KNIFE", "FORK", "SPATULA", "WHISK", "COOKIE",
		"SNACK", "FOOD", "BREAKFAST", "DINNER", "TEATIME", "PARTY", "MEASURING", "STORAGE JAR",
		"OVEN", "TEAPOT", "CAFETIERE", "SALT", "PEPPER", "EGG", "EGGS", "JAM", "HONEY",
		"CHOCOLATE", "SWEETS", "CANDY", "POPCORN", "PICNIC", "WATER BOTTLE", "FLASK", "TEA TOWEL"}},
	{"home decor", []string{"DECORATION", "DECORATIONS", "DECORATIVE", "ORNAMENT",
		"ORNAMENTS", "FRAME", "FRAMES", "MIRROR", "MIRRORS", "CLOCK", "CLOCKS", "CUSHION",
		"CUSHIONS", "DOORMAT", "HOOK", "HOOKS", "HANGER", "HANGERS", "WREATH", "GARLAND",
		"BUNTING", "VASE", "VASES", "BOX", "BOXES", "STORAGE", "DRAWER", "DRAWERS", "CABINET",
		"KNOB", "KNOBS", "DOORSTOP", "HOT WATER", "BLANKET", "THROW", "CURTAIN", "CHEST",
		"SHELF", "BASKET", "BASKETS", "WICKER", "TRINKET", "RACK", "HANGING", "HEART",
		"HEARTS", "WALL", "DOOR", "PHOTO", "PICTURE", "BATH", "BATHROOM", "SOAP", "QUILT",
		"THROW", "HOME", "ART", "TILE", "TILES", "BIRD", "BIRDS", "BUTTERFLY", "FEATHER",
		"FLOWER", "FLOWERS", "ROSE", "ROSES", "LETTER", "LETTERS", "ALPHABET", "BELL", "BELLS",
		"MOBILE", "CHIME", "CHIMES", "DOORSTOP", "PARASOL", "FAN", "COAT", "TISSUES", "STAND",
		"HOLDER", "POT", "POTS", "CONTAINER", "BIN", "HOTTIE", "WARMER", "STAR", "STARS",
		"EASTER", "CHICK", "CHICKS", "BUNNY", "RABBIT", "HEN", "EGG HUNT", "LOVE", "BLOCK",
		"BLOCK WORD", "VALENTINE", "SWEETHEART", "FLOCK", "BAROQUE", "CERAMIC", "ZINC",
		"METAL", "WOODEN", "WOOD", "SET"}},
}

// categoryIndex maps each word or phrase of categoryRules to the place of its rule.
var categoryIndex = func() map[string]int {
	m := map[string]int{}
	for i, r := range categoryRules {
		for _, w := range r.words {
			if _, dup := m[w]; !dup {
				m[w] = i
			}
		}
	}
	return m
}()

// Categorize returns the category of a default-data-set product by its name, by the rule
// documented at categoryRules.
func Categorize(name string) string {
	words := strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
	best := len(categoryRules)
	for i, w := range words {
		if j, ok := categoryIndex[w]; ok && j < best {
			best = j
		}
		if i+1 < len(words) {
			if j, ok := categoryIndex[w+" "+words[i+1]]; ok && j < best {
				best = j
			}
		}
	}
	if best == len(categoryRules) {
		return Other
	}
	return categoryRules[best].category
}

// FillCategories gives the default data set's products loaded under older rules (without
// categories) their category by Categorize, in one statement, and returns how many it
// changed. Products of a data set with its own categories (dummyjson) are left alone; so is
// every product that has a category. It runs after every migration (app.Migrate); when nothing needs it, it reads
// one index and writes nothing.
func FillCategories(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	rows, _ := pool.Query(ctx, `SELECT id, name FROM products WHERE category = '' AND currency = 'GBP'`)
	var ids []int64
	var cats []string
	var id int64
	var name string
	_, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		ids, cats = append(ids, id), append(cats, Categorize(name))
		return nil
	})
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	tag, err := pool.Exec(ctx, `UPDATE products p SET category = c.category
		FROM unnest($1::bigint[], $2::text[]) AS c(id, category)
		WHERE p.id = c.id AND p.category = ''`, ids, cats)
	if err != nil {
		return 0, fmt.Errorf("dataset: fill categories: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
