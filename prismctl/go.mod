module github.com/prism-es/prism/prismctl

go 1.26.0

require (
	github.com/google/uuid v1.6.0
	github.com/prism-es/prism/shared v0.0.0
	github.com/stretchr/testify v1.12.1
)

replace github.com/prism-es/prism/shared => ../shared
