module github.com/belltech/vault

go 1.26.0
