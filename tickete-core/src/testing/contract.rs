//! Store contract suite: written by the stores issue.
