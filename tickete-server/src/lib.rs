//! tickete server (see its issue).
