//! Integration tests of tickete-partner: the client against wiremock and raw sockets.

mod client;
mod support;
