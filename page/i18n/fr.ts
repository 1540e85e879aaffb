// The reset page in French.
import type { PageText } from './en';

export const fr: PageText = {
  title: 'Choisissez un nouveau mot de passe',
  noscript:
    'Cette page a besoin de JavaScript pour changer votre mot de passe. Activez-le et ouvrez à nouveau le lien.',
  formLead:
    'Saisissez un nouveau mot de passe pour votre compte. Vous l’utiliserez lors de votre prochaine connexion.',
  passwordLabel: 'Nouveau mot de passe',
  rulesTitle: 'Votre nouveau mot de passe doit :',
  ruleLength: 'compter au moins {min} et au plus {max} caractères',
  ruleNotOwn: 'ne pas être ni contenir votre nom d’utilisateur ou votre adresse e-mail',
  ruleNotCommon: 'ne pas être un mot de passe courant',
  confirmLabel: 'Confirmez le nouveau mot de passe',
  showPasswords: 'Afficher les mots de passe',
  submit: 'Enregistrer le mot de passe',
  saving: 'Enregistrement…',
  savingStatus: 'Enregistrement de votre nouveau mot de passe…',
  tooShort: { one: 'Utilisez au moins {n} caractère.', other: 'Utilisez au moins {n} caractères.' },
  tooLong: { one: 'Utilisez au plus {n} caractère.', other: 'Utilisez au plus {n} caractères.' },
  mismatch: 'Les deux mots de passe ne correspondent pas.',
  rejectedOwn: 'N’utilisez pas votre nom d’utilisateur ni votre adresse e-mail dans le mot de passe.',
  rejectedCommon: 'Ce mot de passe est trop courant. Choisissez-en un moins prévisible.',
  rejected: 'Ce mot de passe ne peut pas être utilisé. Choisissez-en un autre.',
  successHeading: 'Mot de passe changé',
  successText: 'Votre mot de passe a été changé. Connectez-vous désormais avec votre nouveau mot de passe.',
  successClose: 'Vous pouvez fermer cette page.',
  successContinue: 'Continuer vers la connexion',
  invalidHeading: 'Ce lien n’est pas valide ou a expiré',
  invalidText:
    'Un lien de réinitialisation ne fonctionne qu’une fois, pendant un temps limité. Demandez un nouvel e-mail et ouvrez le lien qu’il contient.',
  invalidHint:
    'Si vous venez de changer votre mot de passe avec ce lien, il est épuisé : connectez-vous avec le nouveau.',
  unreachableHeading: 'Impossible de joindre le serveur',
  unreachableText: 'Votre mot de passe n’a pas encore été changé. Vérifiez votre connexion et réessayez.',
  noAnswerHeading: 'Pas de réponse du serveur',
  noAnswerText:
    'Nous n’avons pas pu confirmer le changement. Réessayez ; si le lien indique alors qu’il a été utilisé, votre nouveau mot de passe est déjà en place.',
  failedHeading: 'Un problème est survenu',
  failedText: 'Votre mot de passe n’a pas été changé. Réessayez dans un instant.',
  retry: 'Réessayer',
  retrying: 'Nouvel essai…',
};
