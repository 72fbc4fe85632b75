//! Integration tests of tickete-partner-sim: the simulator over real HTTP on loopback, and
//! the client round-tripping it.

mod sim;
mod support;
