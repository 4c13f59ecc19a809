/**
 * The approve button names the authenticator the browser will ask for, where that can be known:
 * a platform authenticator is available and the platform has one kind of it. Otherwise, and
 * whenever unsure, it says "Approve with passkey".
 */
export const GENERIC_APPROVE_LABEL = 'Approve with passkey';

type Platform = 'mac' | 'windows' | 'ios' | 'other';

function platform(): Platform {
  const uaData = (navigator as Navigator & { userAgentData?: { platform?: string } }).userAgentData;
  const name = (uaData?.platform ?? navigator.platform ?? '').toLowerCase();
  const ua = navigator.userAgent;
  if (/iphone|ipad|ipod/i.test(ua) || (name === 'macintel' && navigator.maxTouchPoints > 1)) return 'ios';
  if (name.startsWith('mac')) return 'mac';
  if (name.startsWith('win')) return 'windows';
  return 'other';
}

/** The label for this browser; resolves quickly and never throws. */
export async function approveLabel(): Promise<string> {
  try {
    if (!window.PublicKeyCredential?.isUserVerifyingPlatformAuthenticatorAvailable) return GENERIC_APPROVE_LABEL;
    if (!(await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable())) return GENERIC_APPROVE_LABEL;
    switch (platform()) {
      case 'mac':
        return 'Approve with Touch ID';
      case 'windows':
        return 'Approve with Windows Hello';
      case 'ios':
        // An iPhone or iPad has Face ID or Touch ID; the browser does not say which.
        return 'Approve with Face ID or Touch ID';
      default:
        return GENERIC_APPROVE_LABEL;
    }
  } catch {
    return GENERIC_APPROVE_LABEL;
  }
}
