package licentric

// AnalyticsService reads the account's analytics (GET /analytics). Reach
// it as Client.Analytics.
type AnalyticsService service
