/** The auth module's public surface. */
export {
  AUTH_MODES,
  type AuthConfig,
  type AuthConfigInput,
  type AuthDeps,
  type Authenticator,
  type AuthHeaders,
  type AuthMode,
  authConfigSchema,
  checkModelAllowed,
  createAuthenticator,
  presentedCredential,
  verifyAdminKey,
} from "./authenticate.js";
export {
  type JwtConfig,
  type JwtConfigInput,
  JwtVerifier,
  jwtConfigSchema,
  looksLikeJwt,
  principalFromClaims,
} from "./jwt.js";
export {
  hashApiKey,
  INVALID_KEY_MESSAGE,
  KEY_PREFIX,
  KeyAuthenticator,
  type KeyAuthenticatorOptions,
  type KeyMaterial,
  type KeyMemo,
  keyPrincipal,
  keyStatus,
  newKeyMaterial,
  newKeyMemo,
} from "./keys.js";
export { ANONYMOUS, type Principal, type PrincipalLimits } from "./principal.js";
