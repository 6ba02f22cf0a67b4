import { useQuery } from '@tanstack/react-query';
import { ApiError, get, type Json } from './api';

export interface Me {
  kind: 'session' | 'token';
  user: { id: string; email: string; name: string; roles: string[] } | null;
  roles: string[];
  permissions: string[];
  seesPii: boolean;
}

/** Who is signed in (`GET /v1/me`); `null` when no one is (401). */
export function useMe() {
  return useQuery<Me | null>({
    queryKey: ['me'],
    queryFn: async () => {
      try {
        return await get<Me>('/v1/me');
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return null;
        throw e;
      }
    },
    staleTime: 60_000,
  });
}

export const can = (me: Me | null | undefined, permission: string) => Boolean(me?.permissions.includes(permission));

export type { Json };
