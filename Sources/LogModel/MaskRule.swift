/// The agent's built-in secret-masking rules, by the names configuration (`mask_rules`) and
/// `logship parse --explain` use.
public enum MaskRule: String, CaseIterable, Sendable {
    /// `password=`, `secret:`, `token=`, `api_key`, `credential`, `session_id`… in text, JSON and query strings.
    case keyValue = "key_value"
    /// `Authorization` / `Proxy-Authorization` values, and `Bearer …` / `Basic …` anywhere.
    case authorization
    /// `Cookie:` values, and the value a `Set-Cookie:` sets.
    case cookie
    /// The password of `scheme://user:password@host`.
    case urlPassword = "url_password"
    case jwt
    /// The body of a PEM `-----BEGIN … PRIVATE KEY-----` block.
    case privateKey = "private_key"
    case githubToken = "github_token"
    case gitlabToken = "gitlab_token"
    case slackToken = "slack_token"
    case stripeKey = "stripe_key"
    case googleAPIKey = "google_api_key"
    /// `sk-…` keys (OpenAI, Anthropic and the many APIs that copied the shape).
    case openAIKey = "openai_key"
    case awsAccessKeyID = "aws_access_key_id"
    /// 13–19-digit PANs: a known issuer prefix, a card grouping, Luhn.
    case cardNumber = "card_number"
    // Personal data, off unless enabled:
    case email
    case phone
    /// Mainland-China resident identity numbers (18 characters, birth date and check digit valid).
    case cnResidentID = "cn_resident_id"

    public static let optIn: Set<MaskRule> = [.email, .phone, .cnResidentID]
    public var bit: UInt32 { 1 << UInt32(MaskRule.allCases.firstIndex(of: self)!) }
}

