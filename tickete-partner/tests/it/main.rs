//! Integration tests of tickete-partner: the client against wiremock and raw sockets, the
//! simulator over real HTTP on loopback, and the client round-tripping the simulator.

mod client;
mod sim;
mod support;
