// Names and labels shown to people: no C0 control characters and no DEL.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]+$/;
