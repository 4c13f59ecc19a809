/** The approver's calls to the server (docs/web-approver.md); each answers with status and body, never throws. */
import type {
  ApproverConfig,
  ApproverRequestPage,
  ApproverSession,
  DeviceRequestView,
  PasskeyPaired,
  PasskeyPairingOptions,
  SessionOptions,
  SignedOut,
} from '@sigilauth/protocol/wire';
import { request, type ApiResult } from '../lib/api.js';

export const getConfig = (): Promise<ApiResult<ApproverConfig>> => request<ApproverConfig>('GET', '/approve/api/config');
export const getMe = (): Promise<ApiResult<ApproverSession>> => request<ApproverSession>('GET', '/approve/api/me');

export const getRequests = (cursor?: string): Promise<ApiResult<ApproverRequestPage>> =>
  request<ApproverRequestPage>(
    'GET',
    cursor === undefined ? '/approve/api/requests' : `/approve/api/requests?cursor=${encodeURIComponent(cursor)}`,
  );

export const getRequest = (id: string): Promise<ApiResult<DeviceRequestView>> =>
  request<DeviceRequestView>('GET', `/approve/api/requests/${id}`);

export const postDecision = (id: string, body: unknown): Promise<ApiResult<DeviceRequestView>> =>
  request<DeviceRequestView>('POST', `/v1/mpa/requests/${id}/decisions`, body);

export const pairOptions = (code: string, name: string) =>
  request<PasskeyPairingOptions>('POST', '/approve/api/pair/options', { code, name });
export const pairComplete = (body: unknown) => request<PasskeyPaired>('POST', '/approve/api/pair/complete', body);
export const sessionOptions = () => request<SessionOptions>('POST', '/approve/api/session/options');
export const openSession = (body: unknown) => request<ApproverSession>('POST', '/approve/api/session', body);
export const logout = () => request<SignedOut>('POST', '/approve/api/logout');
