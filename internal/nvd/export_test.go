package nvd

// TestFeeds exposes the shared real feeds to the external tests.
var TestFeeds = testFeeds
