// Every wire function the gateway serves, written out in one place. A duplicate name stops start-up.
import type { Handler } from './context';
import { ping } from './ping';
import { authenticateUser } from './authenticate-user';
import { getUserInfo } from './get-user-info';
import { getUserPermissions } from './get-user-permissions';
import { logOut } from './log-out';
import { resetPassword } from './reset-password';
import { resetPassword2 } from './reset-password2';
import { webAuthenticateUser } from './web-authenticate-user';

export const handlers: readonly Handler[] = [
  ping,
  authenticateUser,
  webAuthenticateUser,
  logOut,
  getUserInfo,
  getUserPermissions,
  resetPassword,
  resetPassword2,
];
