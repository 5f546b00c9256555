// Browser tests share one Chromium (a context per page) and run two classes at a time: most of their time is
// waiting (outages, token lifetimes, offline spells), not work. The classes that run three nodes, nginx or
// Redis (ResilienceBrowserTests, RollingDeployBrowserTests) are [DoNotParallelize]: they run alone, after the others.
[assembly: Parallelize(Workers = 2, Scope = ExecutionScope.ClassLevel)]
