"""Reports: the self-contained HTML report, JUnit XML and the results JSON."""
