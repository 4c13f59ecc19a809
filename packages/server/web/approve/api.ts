/** The approver's calls to the server (docs/web-approver.md); each answers with status and body, never throws. */
import type { DeviceRequestView } from '@sigilauth/protocol/messages';
import { request, type ApiResult } from '../lib/api.js';
import type { Config, Me, RequestPage } from './state.js';

export const getConfig = (): Promise<ApiResult<Config>> => request<Config>('GET', '/approve/api/config');
export const getMe = (): Promise<ApiResult<Me>> => request<Me>('GET', '/approve/api/me');

export const getRequests = (cursor?: string): Promise<ApiResult<RequestPage>> =>
  request<RequestPage>(
    'GET',
    cursor === undefined ? '/approve/api/requests' : `/approve/api/requests?cursor=${encodeURIComponent(cursor)}`,
  );

export const getRequest = (id: string): Promise<ApiResult<DeviceRequestView>> =>
  request<DeviceRequestView>('GET', `/approve/api/requests/${id}`);

export const postDecision = (id: string, body: unknown): Promise<ApiResult<DeviceRequestView>> =>
  request<DeviceRequestView>('POST', `/v1/mpa/requests/${id}/decisions`, body);

export const pairOptions = (code: string, name: string) => request('POST', '/approve/api/pair/options', { code, name });
export const pairComplete = (body: unknown) => request('POST', '/approve/api/pair/complete', body);
export const sessionOptions = () => request('POST', '/approve/api/session/options');
export const openSession = (body: unknown) => request('POST', '/approve/api/session', body);
export const logout = () => request('POST', '/approve/api/logout');
