// The reset page in Spanish.
import type { PageText } from './en';

export const es: PageText = {
  title: 'Elija una contraseña nueva',
  noscript:
    'Esta página necesita JavaScript para cambiar su contraseña. Actívelo y vuelva a abrir el enlace.',
  formLead: 'Introduzca una contraseña nueva para su cuenta. La usará la próxima vez que inicie sesión.',
  passwordLabel: 'Contraseña nueva',
  rulesTitle: 'Su contraseña nueva debe:',
  ruleLength: 'tener al menos {min} y como máximo {max} caracteres',
  ruleNotOwn: 'no ser ni contener su nombre de usuario o su dirección de correo',
  ruleNotCommon: 'no ser una contraseña de uso común',
  confirmLabel: 'Confirme la contraseña nueva',
  showPasswords: 'Mostrar contraseñas',
  submit: 'Guardar contraseña nueva',
  saving: 'Guardando…',
  savingStatus: 'Guardando su contraseña nueva…',
  tooShort: { one: 'Use al menos {n} carácter.', other: 'Use al menos {n} caracteres.' },
  tooLong: { one: 'Use como máximo {n} carácter.', other: 'Use como máximo {n} caracteres.' },
  mismatch: 'Las dos contraseñas no coinciden.',
  rejectedOwn: 'No use su nombre de usuario ni su dirección de correo en la contraseña.',
  rejectedCommon: 'Esta contraseña es demasiado común. Elija una menos previsible.',
  rejected: 'Esta contraseña no se puede usar. Elija otra.',
  successHeading: 'Contraseña cambiada',
  successText: 'Su contraseña se ha cambiado. A partir de ahora, inicie sesión con la contraseña nueva.',
  successClose: 'Ya puede cerrar esta página.',
  successContinue: 'Continuar al inicio de sesión',
  invalidHeading: 'Este enlace no es válido o ha caducado',
  invalidText:
    'Un enlace de restablecimiento funciona una sola vez y durante un tiempo limitado. Pida un correo nuevo y abra el enlace que contiene.',
  invalidHint:
    'Si acaba de cambiar su contraseña con este enlace, ya está usado: inicie sesión con la nueva.',
  unreachableHeading: 'No pudimos conectar con el servidor',
  unreachableText: 'Su contraseña aún no se ha cambiado. Compruebe su conexión e inténtelo de nuevo.',
  noAnswerHeading: 'El servidor no responde',
  noAnswerText:
    'No pudimos confirmar el cambio. Inténtelo de nuevo; si el enlace indica entonces que ya se usó, su contraseña nueva ya está establecida.',
  failedHeading: 'Algo salió mal',
  failedText: 'Su contraseña no se ha cambiado. Inténtelo de nuevo en un momento.',
  retry: 'Intentar de nuevo',
  retrying: 'Intentando de nuevo…',
};
