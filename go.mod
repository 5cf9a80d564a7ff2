module github.com/shopcache/shop

go 1.26
