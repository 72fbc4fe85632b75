//! tickete partner (see its issue).
