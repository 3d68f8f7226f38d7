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
    /// One bit per rule (a switch, not a search of `allCases`: the masker asks per word).
    @inline(__always) public var bit: UInt32 {
        switch self {
        case .keyValue: return 1 << 0
        case .authorization: return 1 << 1
        case .cookie: return 1 << 2
        case .urlPassword: return 1 << 3
        case .jwt: return 1 << 4
        case .privateKey: return 1 << 5
        case .githubToken: return 1 << 6
        case .gitlabToken: return 1 << 7
        case .slackToken: return 1 << 8
        case .stripeKey: return 1 << 9
        case .googleAPIKey: return 1 << 10
        case .openAIKey: return 1 << 11
        case .awsAccessKeyID: return 1 << 12
        case .cardNumber: return 1 << 13
        case .email: return 1 << 14
        case .phone: return 1 << 15
        case .cnResidentID: return 1 << 16
        }
    }
}

