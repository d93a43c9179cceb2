#include <stdio.h>
int main(void){puts("imgsec: not built yet");return 1;}
