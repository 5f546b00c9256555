// Browser tests share one Chromium; they run one after another.
[assembly: DoNotParallelize]
