//! Personal access tokens as Label Studio 1.23 issues them: JWTs the SDK uses by default.
//!
//! A personal token is a long-lived *refresh* JWT; the SDK trades it at
//! `/api/token/refresh/` for a short-lived *access* JWT and sends that as `Bearer`. Both are
//! HS256-signed with a key the server generates at first start. Refresh tokens are also
//! recorded by id, so revoking one takes effect at once.

use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// How long a personal access token lives.
pub const REFRESH_LIFETIME_DAYS: i64 = 365;
/// How long an access token lives.
pub const ACCESS_LIFETIME_MINUTES: i64 = 5;

/// The claims labelsync signs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub token_type: String,
    pub user_id: i64,
    pub jti: String,
    pub exp: i64,
    pub iat: i64,
}

/// The server's signing key.
#[derive(Clone)]
pub struct Keys {
    secret: Vec<u8>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

impl Keys {
    pub fn new(secret: &str) -> Keys {
        Keys {
            secret: secret.as_bytes().to_vec(),
        }
    }

    /// A new token of `token_type` for `user_id`, valid for `lifetime`.
    pub fn issue(&self, token_type: &str, user_id: i64, lifetime: Duration) -> (String, Claims) {
        let now = Utc::now();
        let claims = Claims {
            token_type: token_type.to_owned(),
            user_id,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            exp: (now + lifetime).timestamp(),
            iat: now.timestamp(),
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.secret),
        )
        .unwrap_or_default();
        (token, claims)
    }

    /// The claims of a valid (well-signed, unexpired) token of `token_type`.
    pub fn verify(&self, token: &str, token_type: &str) -> Option<Claims> {
        let validation = Validation::new(Algorithm::HS256);
        let data = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(&self.secret),
            &validation,
        )
        .ok()?;
        (data.claims.token_type == token_type).then_some(data.claims)
    }
}

/// True for text shaped like a JWT (three base64url parts), as opposed to a legacy key.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && token.starts_with("eyJ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_key_type_and_lifetime() {
        let keys = Keys::new("k1");
        let (token, claims) = keys.issue("refresh", 7, Duration::days(1));
        assert!(looks_like_jwt(&token));
        assert_eq!(keys.verify(&token, "refresh"), Some(claims));
        assert_eq!(
            keys.verify(&token, "access"),
            None,
            "a refresh token is not an access token"
        );
        assert_eq!(
            Keys::new("k2").verify(&token, "refresh"),
            None,
            "another key"
        );
        let (expired, _) = keys.issue("access", 7, Duration::minutes(-10));
        assert_eq!(keys.verify(&expired, "access"), None, "expired");
        assert!(!looks_like_jwt("0123456789abcdef"));
    }
}
