module github.com/sigilauth/sigil/sdk-go

go 1.19
