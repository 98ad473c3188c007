module libswing/go-bindings

go 1.23

require google.golang.org/protobuf v1.36.10

require golang.org/x/image v0.23.0
