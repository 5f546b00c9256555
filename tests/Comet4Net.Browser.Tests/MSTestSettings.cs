// Browser tests share one Chromium (a context per page) and run two classes at a time: most of their time is
// waiting (token lifetimes, cut and resumed answers), not work. [DoNotParallelize] classes run alone, after
// the others: those with three nodes, nginx or Redis (ResilienceBrowserTests, RollingDeployBrowserTests) and
// those that assert a bound of seconds (LifecycleBrowserTests, WakeBrowserTests, TransportBrowserTests), which
// a neighbouring test's load must not decide (a back-forward-cache page took 2.7 s instead of under 2 beside
// another class and two CPU burners). Classes start in the order their files are compiled, and the csproj
// compiles TokenRefreshBrowserTests first: its two-minute test is waiting, and the other classes run beside it.
[assembly: Parallelize(Workers = 2, Scope = ExecutionScope.ClassLevel)]
