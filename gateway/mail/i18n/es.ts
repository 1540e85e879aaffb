// The two mails in Spanish.
import type { MailText } from './en';

export const es: MailText = {
  greeting: 'Hola, {name}:',
  resetSubject: 'Restablezca su contraseña',
  resetIntro:
    'Alguien pidió restablecer la contraseña de su cuenta. Para elegir una contraseña nueva, abra este enlace:',
  resetButton: 'Elegir una contraseña nueva',
  resetExpiry: {
    one: 'El enlace funciona durante {n} minuto y una sola vez.',
    other: 'El enlace funciona durante {n} minutos y una sola vez.',
  },
  resetIgnore: 'Si no lo pidió, ignore este correo: su contraseña sigue igual.',
  changedSubject: 'Su contraseña se ha cambiado',
  changedText: 'La contraseña de su cuenta se acaba de cambiar.',
  changedWarning: 'Si no fue usted, restablezca su contraseña de inmediato y avise a su administrador.',
};
